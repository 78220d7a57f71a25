//go:build kms_vault

package keyring

import _ "gocloud.dev/secrets/hashivault" // hashivault://
