package keyring

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
)

// Signing algorithms of private_key_jwt (RFC 7523) that a key may use.
var signingCurves = map[string]elliptic.Curve{"ES256": elliptic.P256(), "ES384": elliptic.P384(), "ES512": elliptic.P521()}

// PrivateKey is a parsed client key and the JWS algorithm it signs with.
type PrivateKey struct {
	Alg string
	Key crypto.Signer
}

// ParsePrivateKey reads a PEM private key (PKCS #8, SEC 1 or PKCS #1) for private_key_jwt;
// alg is the JWS algorithm ("": ES256 for a P-256 key, RS256 for RSA).
func ParsePrivateKey(pemText, alg string) (PrivateKey, error) {
	block, _ := pem.Decode([]byte(pemText))
	if block == nil {
		return PrivateKey{}, errors.New("is not a PEM private key")
	}
	var key any
	var err error
	switch block.Type {
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	default:
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	}
	if err != nil {
		return PrivateKey{}, errors.New("is not a readable private key (PKCS #8, SEC 1 or PKCS #1 PEM)")
	}
	switch k := key.(type) {
	case *ecdsa.PrivateKey:
		if alg == "" {
			for a, c := range signingCurves {
				if c == k.Curve {
					alg = a
				}
			}
		}
		if signingCurves[alg] != k.Curve {
			return PrivateKey{}, fmt.Errorf("is an EC key on %s, which does not sign %q", k.Curve.Params().Name, alg)
		}
		return PrivateKey{Alg: alg, Key: k}, nil
	case *rsa.PrivateKey:
		if alg == "" {
			alg = "RS256"
		}
		if alg != "RS256" && alg != "RS384" && alg != "RS512" {
			return PrivateKey{}, fmt.Errorf("is an RSA key, which does not sign %q", alg)
		}
		if k.N.BitLen() < 2048 {
			return PrivateKey{}, errors.New("is an RSA key of fewer than 2048 bits")
		}
		return PrivateKey{Alg: alg, Key: k}, nil
	}
	return PrivateKey{}, errors.New("is neither an EC nor an RSA key")
}
