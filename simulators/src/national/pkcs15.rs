//! The PKCS#15 files of the PKI application (ISO/IEC 7816-15:2016; PKCS #15 v1.1), in DER, laid
//! out so that OpenSC 0.23's generic PKCS#15 emulation lists and reads them: EF.ODF, EF.TokenInfo,
//! EF.AODF (the PINs), EF.PrKDF (the two private keys), EF.CDF (the certificates).
//!
//! Every path is absolute (`3F00 5015 xxxx`), so a reader needs no knowledge of the DF.

use shenas_cards::profile::pkcs15::{CA_CERT_ID, CERT_CA_FID, PUK_AUTH_ID};
use shenas_cards::profile::{KeyAlgorithm, KeyRole, KeySpec, MF_FID, PinKind, PinSpec, Profile};

// ---- A small DER writer (X.690, 8.1: one-byte tags, definite minimal lengths) ----

/// One DER element with a one-byte tag.
pub(crate) fn der(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len() + 4);
    out.push(tag);
    let len = content.len();
    if len < 0x80 {
        out.push(u8::try_from(len).unwrap_or(0));
    } else {
        let be = len.to_be_bytes();
        let skip = be.iter().take_while(|b| **b == 0).count();
        let bytes = be.get(skip..).unwrap_or_default();
        out.push(0x80 | u8::try_from(bytes.len()).unwrap_or(0));
        out.extend_from_slice(bytes);
    }
    out.extend_from_slice(content);
    out
}

fn seq(parts: &[Vec<u8>]) -> Vec<u8> {
    der(0x30, &parts.concat())
}

/// An INTEGER (or an implicitly tagged one) of a non-negative value, minimal two's complement.
fn integer_with_tag(tag: u8, value: u64) -> Vec<u8> {
    let be = value.to_be_bytes();
    let skip = be.iter().take_while(|b| **b == 0).count().min(be.len() - 1);
    let mut bytes = be.get(skip..).unwrap_or_default().to_vec();
    if bytes.first().is_some_and(|b| b & 0x80 != 0) {
        bytes.insert(0, 0);
    }
    der(tag, &bytes)
}

fn integer(value: u64) -> Vec<u8> {
    integer_with_tag(0x02, value)
}

fn octets(bytes: &[u8]) -> Vec<u8> {
    der(0x04, bytes)
}

fn utf8(text: &str) -> Vec<u8> {
    der(0x0C, text.as_bytes())
}

/// A named BIT STRING (X.690, 11.2.2: trailing zero bits removed) with these bits set.
fn bits(set: &[u8]) -> Vec<u8> {
    let Some(&highest) = set.iter().max() else {
        return der(0x03, &[0]);
    };
    let bytes = usize::from(highest / 8) + 1;
    let mut value = vec![0u8; bytes];
    for &bit in set {
        if let Some(b) = value.get_mut(usize::from(bit / 8)) {
            *b |= 0x80 >> (bit % 8);
        }
    }
    let unused = 7 - highest % 8;
    let mut content = vec![unused];
    content.extend_from_slice(&value);
    der(0x03, &content)
}

/// A Path (ISO/IEC 7816-15, 8.2.5): `SEQUENCE { path OCTET STRING }`, absolute.
fn path(fids: &[u16]) -> Vec<u8> {
    let bytes: Vec<u8> = fids.iter().flat_map(|f| f.to_be_bytes()).collect();
    seq(&[octets(&bytes)])
}

fn app_path(profile: &Profile, fid: Option<u16>) -> Vec<u8> {
    let mut fids = vec![MF_FID, profile.pki.df_fid];
    fids.extend(fid);
    path(&fids)
}

// ---- The files ----

/// EF.ODF (ISO/IEC 7816-15, 8.5): privateKeys `[0]`, certificates `[4]`, authObjects `[8]`,
/// each a Path to its directory file.
pub(crate) fn odf(profile: &Profile, prkdf: u16, cdf: u16, aodf: u16) -> Vec<u8> {
    [
        der(0xA0, &app_path(profile, Some(prkdf))),
        der(0xA4, &app_path(profile, Some(cdf))),
        der(0xA8, &app_path(profile, Some(aodf))),
    ]
    .concat()
}

/// EF.TokenInfo (ISO/IEC 7816-15, 8.6): version 0 (v1), the card serial, manufacturer, label,
/// token flags readOnly.
pub(crate) fn token_info(serial: &str, label: &str) -> Vec<u8> {
    seq(&[
        integer(0),
        octets(serial.as_bytes()),
        utf8("Shenas (simulated card)"),
        der(0x80, label.as_bytes()),
        bits(&[0]),
    ])
}

/// EF.AODF (ISO/IEC 7816-15, 8.8): one PinAuthObject per PIN: label, authId, PIN flags (local,
/// initialized, needs-padding; unblockingPin for the PUK), ASCII-numeric, lengths, reference,
/// pad character. A PIN's CommonObjectAttributes.authId names the PUK that unblocks it.
pub(crate) fn aodf(profile: &Profile, pins: &[&PinSpec]) -> Vec<u8> {
    pins.iter()
        .map(|pin| {
            let auth_id = auth_id(pin.kind);
            let is_puk = pin.kind == PinKind::Puk;
            let mut common = vec![utf8(pin.label)];
            if is_puk {
                common.push(bits(&[]));
            } else {
                // modifiable; unblocked with the PUK.
                common.push(bits(&[1]));
                common.push(octets(&[PUK_AUTH_ID]));
            }
            let mut flags = vec![1, 4, 5];
            if is_puk {
                flags.push(6);
            }
            let attributes = seq(&[
                bits(&flags),
                der(0x0A, &[0x01]),
                integer(u64::try_from(pin.min_digits).unwrap_or(0)),
                integer(u64::try_from(pin.padded_len).unwrap_or(0)),
                integer(u64::try_from(pin.max_digits).unwrap_or(0)),
                integer_with_tag(0x80, u64::from(pin.reference)),
                octets(&[pin.pad]),
                app_path(profile, None),
            ]);
            seq(&[
                seq(&common),
                seq(&[octets(&[auth_id])]),
                der(0xA1, &attributes),
            ])
        })
        .collect::<Vec<_>>()
        .concat()
}

/// The PKCS#15 authId of a PIN.
pub(crate) const fn auth_id(kind: PinKind) -> u8 {
    use shenas_cards::profile::pkcs15::{ID_PIN_AUTH_ID, SIGN_PIN_AUTH_ID};
    match kind {
        PinKind::IdPin => ID_PIN_AUTH_ID,
        PinKind::SignPin => SIGN_PIN_AUTH_ID,
        _ => PUK_AUTH_ID,
    }
}

/// A private key as the PrKDF describes it.
pub(crate) struct KeyEntry<'a> {
    pub(crate) spec: &'a KeySpec,
    pub(crate) algorithm: KeyAlgorithm,
    pub(crate) size_bits: usize,
    pub(crate) pin: PinKind,
}

/// EF.PrKDF (ISO/IEC 7816-15, 8.4.2): privateRSAKey (`30`) or privateECKey (`[0]`) objects:
/// label, private, authId of the PIN; iD, usage (sign for the authentication key; sign and
/// nonRepudiation for the signing key), access flags (sensitive, alwaysSensitive,
/// neverExtractable, local), key reference; the application path and the key size.
pub(crate) fn prkdf(profile: &Profile, keys: &[KeyEntry<'_>]) -> Vec<u8> {
    keys.iter()
        .map(|k| {
            let common = seq(&[utf8(k.spec.label), bits(&[0]), octets(&[auth_id(k.pin)])]);
            let usage = match k.spec.role {
                KeyRole::Signing => bits(&[2, 9]),
                _ => bits(&[2]),
            };
            let common_key = seq(&[
                octets(&[k.spec.pkcs15_id]),
                usage,
                bits(&[0, 2, 3, 4]),
                integer(u64::from(k.spec.reference)),
            ]);
            let size = u64::try_from(k.size_bits).unwrap_or(0);
            let typed = der(0xA1, &seq(&[app_path(profile, None), integer(size)]));
            let body = [common, common_key, typed].concat();
            match k.algorithm {
                KeyAlgorithm::EcP256 => der(0xA0, &body),
                _ => der(0x30, &body),
            }
        })
        .collect::<Vec<_>>()
        .concat()
}

/// A certificate as the CDF describes it.
pub(crate) struct CertEntry<'a> {
    pub(crate) label: &'a str,
    pub(crate) id: u8,
    pub(crate) fid: u16,
    pub(crate) authority: bool,
}

/// The CDF entry of the issuing CA certificate.
pub(crate) const CA_CERT: CertEntry<'static> = CertEntry {
    label: "Issuing CA",
    id: CA_CERT_ID,
    fid: CERT_CA_FID,
    authority: true,
};

/// EF.CDF (ISO/IEC 7816-15, 8.4.5): x509Certificate objects: label; iD (the key's), authority
/// for the CA; the certificate EF's path.
pub(crate) fn cdf(profile: &Profile, certs: &[CertEntry<'_>]) -> Vec<u8> {
    certs
        .iter()
        .map(|c| {
            let mut common_cert = vec![octets(&[c.id])];
            if c.authority {
                common_cert.push(der(0x01, &[0xFF]));
            }
            seq(&[
                seq(&[utf8(c.label)]),
                seq(&common_cert),
                der(0xA1, &seq(&[app_path(profile, Some(c.fid))])),
            ])
        })
        .collect::<Vec<_>>()
        .concat()
}

#[cfg(test)]
mod tests {
    use super::*;
    use shenas_cards::profile::national::PROFILE;

    #[test]
    fn der_pieces() {
        assert_eq!(der(0x04, &[1, 2]), [0x04, 2, 1, 2]);
        assert_eq!(der(0x04, &[0; 200]).get(..3), Some(&[0x04, 0x81, 200][..]));
        assert_eq!(
            der(0x04, &[0; 300]).get(..4),
            Some(&[0x04, 0x82, 1, 44][..])
        );
        assert_eq!(integer(0), [2, 1, 0]);
        assert_eq!(integer(0x81), [2, 2, 0, 0x81]);
        assert_eq!(integer(2048), [2, 2, 8, 0]);
        assert_eq!(bits(&[0]), [3, 2, 7, 0x80]);
        assert_eq!(bits(&[2, 9]), [3, 3, 6, 0x20, 0x40]);
        assert_eq!(bits(&[1, 4, 5]), [3, 2, 2, 0x4C]);
        assert_eq!(bits(&[]), [3, 1, 0]);
    }

    #[test]
    fn odf_points_to_the_directories() {
        let odf = odf(&PROFILE, 0x4402, 0x4404, 0x4401);
        assert_eq!(
            odf.get(..12),
            Some(&[0xA0, 10, 0x30, 8, 4, 6, 0x3F, 0, 0x50, 0x15, 0x44, 0x02][..])
        );
        assert_eq!(odf.len(), 36);
    }
}
