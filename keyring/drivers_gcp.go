//go:build kms_gcp

package keyring

import _ "gocloud.dev/secrets/gcpkms" // gcpkms://
