package keyring

import _ "gocloud.dev/secrets/localsecrets" // base64key://, always linked
