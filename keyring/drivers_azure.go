//go:build kms_azure

package keyring

import _ "gocloud.dev/secrets/azurekeyvault" // azurekeyvault://
