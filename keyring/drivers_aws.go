//go:build kms_aws

package keyring

import _ "gocloud.dev/secrets/awskms" // awskms://
