//! The card's private keys and the signatures it computes with them (ISO/IEC 7816-8, 11: PSO:
//! COMPUTE DIGITAL SIGNATURE; ISO/IEC 7816-4, 11.5.2: INTERNAL AUTHENTICATE).
//!
//! The input and output formats follow the profile's [`AlgorithmSpec`]: ECDSA P-256 signs a bare
//! SHA-256 or SHA-384 hash (the leftmost 256 bits of a longer one, FIPS 186-4, 6.4) and returns
//! r ‖ s (BSI TR-03111, 5.2.1); RSA-2048 applies PKCS#1 v1.5 type 1 padding to the DigestInfo
//! the host sends (RFC 8017, 8.2.1 and 9.2) and returns the signature of the modulus length.

use std::fmt;

use p256::ecdsa::signature::hazmat::PrehashSigner;
use shenas_apdu::StatusWord;
use shenas_cards::profile::{AlgorithmSpec, KeyAlgorithm, SignatureInput, SignatureOutput};

/// An on-card private key. **Simulated**: it sits in plain memory.
#[derive(Clone)]
#[non_exhaustive]
pub enum PrivateKey {
    /// ECDSA over NIST P-256.
    EcP256(p256::ecdsa::SigningKey),
    /// RSA with a 2048-bit modulus.
    Rsa2048(Box<rsa::RsaPrivateKey>),
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The key material stays out of Debug.
        f.write_str(match self {
            Self::EcP256(_) => "PrivateKey::EcP256(..)",
            Self::Rsa2048(_) => "PrivateKey::Rsa2048(..)",
        })
    }
}

impl PrivateKey {
    /// The key's algorithm, as in the profile tables.
    pub const fn algorithm(&self) -> KeyAlgorithm {
        match self {
            Self::EcP256(_) => KeyAlgorithm::EcP256,
            Self::Rsa2048(_) => KeyAlgorithm::Rsa2048,
        }
    }

    /// The modulus length in bits (RSA) or the field size (EC), for the PrKDF.
    pub(crate) fn size_bits(&self) -> usize {
        match self {
            Self::EcP256(_) => 256,
            Self::Rsa2048(k) => rsa::traits::PublicKeyParts::size(k.as_ref()) * 8,
        }
    }

    /// The SubjectPublicKeyInfo (DER) of the public key, to check it against a certificate.
    pub fn public_key_der(&self) -> Option<Vec<u8>> {
        use p256::pkcs8::EncodePublicKey as _;
        match self {
            Self::EcP256(k) => k
                .verifying_key()
                .to_public_key_der()
                .ok()
                .map(|d| d.as_bytes().to_vec()),
            Self::Rsa2048(k) => rsa::pkcs8::EncodePublicKey::to_public_key_der(&k.to_public_key())
                .ok()
                .map(|d| d.as_bytes().to_vec()),
        }
    }

    /// Signs `input` with `algorithm`; `6A80` when the input does not fit it (wrong length),
    /// `6985` when the algorithm needs another key type.
    pub(crate) fn sign(
        &self,
        algorithm: &AlgorithmSpec,
        input: &[u8],
    ) -> Result<Vec<u8>, StatusWord> {
        if algorithm.key != self.algorithm() {
            return Err(StatusWord::CONDITIONS_NOT_SATISFIED);
        }
        if !algorithm.input_lengths.contains(&input.len()) {
            return Err(StatusWord::INCORRECT_DATA);
        }
        match (self, algorithm.input, algorithm.output) {
            (Self::EcP256(key), SignatureInput::BareHash, SignatureOutput::PlainRs) => {
                let signature: p256::ecdsa::Signature = key
                    .sign_prehash(input)
                    .map_err(|_| StatusWord::INCORRECT_DATA)?;
                Ok(signature.to_bytes().to_vec())
            }
            (Self::Rsa2048(key), SignatureInput::DigestInfo, SignatureOutput::RsaPkcs1v15) => key
                .sign(rsa::Pkcs1v15Sign::new_unprefixed(), input)
                .map_err(|_| StatusWord::INCORRECT_DATA),
            // A table pairing a key with a format this card does not implement.
            _ => Err(StatusWord::FUNCTION_NOT_SUPPORTED),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::signature::hazmat::PrehashVerifier;
    use shenas_cards::profile::pkcs15::ALGORITHMS;

    fn ec() -> PrivateKey {
        PrivateKey::EcP256(
            p256::ecdsa::SigningKey::from_slice(&[7u8; 32]).unwrap_or_else(|_| unreachable!()),
        )
    }

    #[test]
    fn ecdsa_signs_a_bare_hash_as_r_s() {
        let key = ec();
        let alg = ALGORITHMS
            .iter()
            .find(|a| a.key == KeyAlgorithm::EcP256)
            .unwrap_or(&ALGORITHMS[0]);
        let hash = [0x5Au8; 32];
        let sig = key.sign(alg, &hash).unwrap_or_default();
        assert_eq!(sig.len(), 64);
        let PrivateKey::EcP256(k) = &key else { return };
        let parsed = p256::ecdsa::Signature::from_slice(&sig);
        assert!(parsed.is_ok_and(|s| k.verifying_key().verify_prehash(&hash, &s).is_ok()));
        assert_eq!(key.sign(alg, &[0; 20]), Err(StatusWord::INCORRECT_DATA));
        let rsa_alg = ALGORITHMS
            .iter()
            .find(|a| a.key == KeyAlgorithm::Rsa2048)
            .unwrap_or(&ALGORITHMS[0]);
        assert_eq!(
            key.sign(rsa_alg, &[0; 51]),
            Err(StatusWord::CONDITIONS_NOT_SATISFIED)
        );
        assert!(!format!("{key:?}").contains('7'));
        assert!(key.public_key_der().is_some());
    }
}
