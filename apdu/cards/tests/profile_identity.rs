//! The identity codec of both profiles: round trips, validation, defects reported as typed
//! errors, never a panic, and no personal data in `Debug`.
#![allow(clippy::expect_used)] // test code: a failed step fails the test at once

use proptest::prelude::*;
use shenas_apdu::{Tag, Tlv};
use shenas_cards::profile::date::{Date, GregorianDate};
use shenas_cards::profile::identity::{
    CardDataError, DataGroups, DocumentType, FamilyGroup, FamilyRelation, ForeignIdentity, Gender,
    Identity, NationalIdentity, Portrait, ResidenceStatus,
};
use shenas_cards::profile::tags;
use shenas_cards::profile::validate::{CardSerial, CountryCode, Fida, NationalCode};
use shenas_cards::profile::{ProfileId, foreign, national};

const PNG: [u8; 8] = [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];

fn portrait(extra: &[u8]) -> Portrait {
    let mut bytes = PNG.to_vec();
    bytes.extend_from_slice(extra);
    Portrait::new(bytes).expect("PNG signature")
}

fn date(y: u16, m: u8, d: u8) -> Date {
    Date::gregorian_ymd(y, m, d).expect("valid date")
}

fn citizen() -> NationalIdentity {
    NationalIdentity {
        national_code: NationalCode::parse("0076229645").expect("valid"),
        given_name_fa: "مریم".into(),
        surname_fa: "احمدی".into(),
        given_name_latin: "Maryam".into(),
        surname_latin: "Ahmadi".into(),
        father_name_fa: "علی".into(),
        father_name_latin: "Ali".into(),
        birth_date: date(1990, 5, 12),
        birth_place: "تهران".into(),
        gender: Gender::Female,
        issuing_authority: "سازمان ثبت احوال".into(),
        issue_date: date(2022, 1, 10),
        expiry_date: date(2032, 1, 10),
        card_serial: CardSerial::parse("N000000001").expect("valid"),
        portrait: portrait(b"portrait"),
    }
}

fn foreign_national() -> ForeignIdentity {
    ForeignIdentity {
        fida: Fida::parse("123456789012").expect("valid"),
        given_name_fa: "احمد".into(),
        surname_fa: "کریمی".into(),
        given_name_latin: "Ahmad".into(),
        surname_latin: "Karimi".into(),
        father_name_fa: None,
        father_name_latin: Some("Rahim".into()),
        birth_date: date(1985, 2, 1),
        birth_place: "هرات".into(),
        gender: Gender::Male,
        nationality: CountryCode::from_card(b"AFG").expect("valid"),
        residence_status: ResidenceStatus::TemporaryResident,
        document_type: DocumentType::Amayesh,
        residence_valid_until: date(2026, 3, 20),
        family_group: FamilyGroup {
            id: "4455667788".into(),
            relation: FamilyRelation::Head,
        },
        bank_service: true,
        sim_service: false,
        issuing_authority: "سازمان امور اتباع".into(),
        issue_date: date(2024, 1, 1),
        expiry_date: date(2027, 1, 1),
        card_serial: CardSerial::parse("F000000001").expect("valid"),
        portrait: portrait(b"x"),
    }
}

/// Rebuilds data group `number` with `edit` applied to its children.
fn edit_group(groups: &mut DataGroups, number: u8, edit: impl FnOnce(&mut Vec<Tlv>)) {
    let content = groups.get(number).expect("group").to_vec();
    let (outer, _) = Tlv::parse_one(&content).expect("template");
    let mut children = outer.children().expect("constructed");
    edit(&mut children);
    groups.insert(number, Tlv::constructed(outer.tag(), &children).to_bytes());
}

fn set(children: &mut [Tlv], tag: u32, value: &[u8]) {
    let t = Tag::from_u32(tag).expect("tag");
    for child in children.iter_mut() {
        if child.tag() == t {
            *child = Tlv::new(t, value.to_vec());
        }
    }
}

#[test]
fn national_round_trip_and_layout() {
    let id = citizen();
    let groups = id.to_data_groups().expect("encodes");
    assert_eq!(groups.len(), 3);
    for spec in national::PROFILE.data_groups {
        let content = groups.get(spec.number).expect("group present");
        let (outer, rest) = Tlv::parse_one(content).expect("parses");
        assert!(rest.is_empty());
        assert_eq!(outer.tag().to_u32(), spec.template);
    }
    // DG1 carries the national code as 10 ASCII digits, the birth date in both calendars.
    let (dg1, _) = Tlv::parse_one(groups.get(1).expect("dg1")).expect("parses");
    let value = |tag: u32| {
        dg1.find(Tag::from_u32(tag).expect("tag"))
            .map(|t| t.value().to_vec())
    };
    assert_eq!(value(tags::PERSONAL_NUMBER), Some(b"0076229645".to_vec()));
    assert_eq!(value(tags::BIRTH_DATE), Some(b"19900512".to_vec()));
    assert_eq!(value(tags::BIRTH_DATE_JALALI), Some(b"13690222".to_vec()));
    assert_eq!(value(tags::SEX), Some(b"2".to_vec()));
    assert_eq!(value(tags::GIVEN_NAME_FA), Some("مریم".as_bytes().to_vec()));
    assert_eq!(NationalIdentity::from_data_groups(&groups), Ok(id.clone()));
    assert_eq!(
        Identity::decode(ProfileId::NationalId, &groups),
        Ok(Identity::National(id))
    );
}

#[test]
fn foreign_round_trip_and_layout() {
    let id = foreign_national();
    let groups = id.to_data_groups().expect("encodes");
    assert_eq!(groups.len(), 4);
    for spec in foreign::PROFILE.data_groups {
        let (outer, _) = Tlv::parse_one(groups.get(spec.number).expect("group")).expect("parses");
        assert_eq!(outer.tag().to_u32(), spec.template);
    }
    assert_eq!(ForeignIdentity::from_data_groups(&groups), Ok(id.clone()));
    // The national decoder refuses a FIDA where a national code belongs.
    assert!(matches!(
        NationalIdentity::from_data_groups(&groups),
        Err(CardDataError::InvalidNationalCode(_) | CardDataError::MissingObject { .. })
    ));
    let all: Vec<u8> = groups.iter().flat_map(|(_, c)| c.to_vec()).collect();
    assert_eq!(
        DataGroups::from_templates(ProfileId::ForeignNational, &all),
        Ok(groups)
    );
}

#[test]
fn json_round_trip() {
    let identity = Identity::National(citizen());
    let json = serde_json::to_value(&identity).expect("serialises");
    assert_eq!(json["profile"], "national_id");
    assert_eq!(json["national_code"], "0076229645");
    assert_eq!(json["birth_date"]["jalali"], "1369-02-22");
    assert_eq!(json["gender"], "female");
    let back: Identity = serde_json::from_value(json).expect("deserialises");
    assert_eq!(back, identity);
    let foreign = Identity::Foreign(foreign_national());
    let json = serde_json::to_value(&foreign).expect("serialises");
    assert_eq!(json["document_type"], "amayesh");
    assert_eq!(json["nationality"], "AFG");
    assert_eq!(serde_json::from_value::<Identity>(json).ok(), Some(foreign));
    // An invalid national code in JSON is refused.
    let mut json = serde_json::to_value(&identity).expect("serialises");
    json["national_code"] = "1234567890".into();
    assert!(serde_json::from_value::<Identity>(json).is_err());
}

#[test]
fn defects_are_typed() {
    let good = citizen().to_data_groups().expect("encodes");

    let mut g = good.clone();
    edit_group(&mut g, 1, |c| set(c, tags::PERSONAL_NUMBER, b"1234567890"));
    assert!(matches!(
        NationalIdentity::from_data_groups(&g),
        Err(CardDataError::InvalidNationalCode(_))
    ));

    let mut g = good.clone();
    edit_group(&mut g, 1, |c| set(c, tags::PERSONAL_NUMBER, b"1111111111"));
    assert!(matches!(
        NationalIdentity::from_data_groups(&g),
        Err(CardDataError::InvalidNationalCode(_))
    ));

    let mut g = good.clone();
    edit_group(&mut g, 1, |c| set(c, tags::BIRTH_DATE_JALALI, b"13690223"));
    assert_eq!(
        NationalIdentity::from_data_groups(&g),
        Err(CardDataError::BirthDatesDisagree)
    );

    let mut g = good.clone();
    edit_group(&mut g, 1, |c| set(c, tags::BIRTH_DATE, b"19900230"));
    assert!(matches!(
        NationalIdentity::from_data_groups(&g),
        Err(CardDataError::InvalidDate {
            tag: tags::BIRTH_DATE,
            ..
        })
    ));

    let mut g = good.clone();
    edit_group(&mut g, 3, |c| set(c, tags::EXPIRY_DATE, b"20210101"));
    assert!(matches!(
        NationalIdentity::from_data_groups(&g),
        Err(CardDataError::DatesOutOfOrder { .. })
    ));

    let mut g = good.clone();
    edit_group(&mut g, 1, |c| set(c, tags::GIVEN_NAME_FA, &[0xC3, 0x28]));
    assert_eq!(
        NationalIdentity::from_data_groups(&g),
        Err(CardDataError::InvalidText {
            tag: tags::GIVEN_NAME_FA
        })
    );

    let mut g = good.clone();
    edit_group(&mut g, 1, |c| set(c, tags::SEX, b"9"));
    assert_eq!(
        NationalIdentity::from_data_groups(&g),
        Err(CardDataError::InvalidValue { tag: tags::SEX })
    );

    let mut g = good.clone();
    edit_group(&mut g, 1, |c| {
        c.retain(|t| t.tag().to_u32() != tags::SURNAME_LATIN);
    });
    assert_eq!(
        NationalIdentity::from_data_groups(&g),
        Err(CardDataError::MissingObject {
            data_group: 1,
            tag: tags::SURNAME_LATIN
        })
    );

    let mut g = good.clone();
    edit_group(&mut g, 1, |c| {
        let again = c.first().cloned().expect("a child");
        c.push(again);
    });
    assert!(matches!(
        NationalIdentity::from_data_groups(&g),
        Err(CardDataError::DuplicateObject { data_group: 1, .. })
    ));

    // Unknown data objects are skipped.
    let mut g = good.clone();
    edit_group(&mut g, 3, |c| {
        c.push(Tlv::new(
            Tag::from_u32(0xDF7F).expect("tag"),
            b"future".to_vec(),
        ));
    });
    assert_eq!(NationalIdentity::from_data_groups(&g), Ok(citizen()));

    let mut g = good.clone();
    g.insert(
        2,
        Tlv::constructed(Tag::from_u32(0x75).expect("tag"), &[]).to_bytes(),
    );
    assert!(matches!(
        NationalIdentity::from_data_groups(&g),
        Err(CardDataError::MissingObject { data_group: 2, .. })
    ));

    let mut g = good.clone();
    let mut dg3 = g.get(3).expect("dg3").to_vec();
    dg3.extend_from_slice(&[0x00, 0xFF]);
    g.insert(3, dg3.clone());
    assert_eq!(
        NationalIdentity::from_data_groups(&g),
        Ok(citizen()),
        "padding is fine"
    );
    dg3.extend_from_slice(&[0x53, 0x00]);
    g.insert(3, dg3);
    assert_eq!(
        NationalIdentity::from_data_groups(&g),
        Err(CardDataError::TrailingData { data_group: 3 })
    );

    let mut g = good.clone();
    let dg1 = g.get(1).expect("dg1").to_vec();
    g.insert(3, dg1);
    assert!(matches!(
        NationalIdentity::from_data_groups(&g),
        Err(CardDataError::WrongTemplate { data_group: 3, .. })
    ));

    let mut g = good.clone();
    let mut dg2 = g.get(2).expect("dg2").to_vec();
    dg2.truncate(dg2.len() / 2);
    g.insert(2, dg2);
    assert!(matches!(
        NationalIdentity::from_data_groups(&g),
        Err(CardDataError::Malformed { data_group: 2, .. })
    ));

    let mut g = DataGroups::new();
    g.insert(1, good.get(1).expect("dg1").to_vec());
    assert_eq!(
        NationalIdentity::from_data_groups(&g),
        Err(CardDataError::MissingDataGroup { data_group: 2 })
    );

    let f = foreign_national().to_data_groups().expect("encodes");
    let mut g = f.clone();
    edit_group(&mut g, 4, |c| set(c, tags::DOCUMENT_TYPE, &[0x09]));
    assert_eq!(
        ForeignIdentity::from_data_groups(&g),
        Err(CardDataError::InvalidValue {
            tag: tags::DOCUMENT_TYPE
        })
    );
    let mut g = f.clone();
    edit_group(&mut g, 1, |c| set(c, tags::PERSONAL_NUMBER, b"12345678901"));
    assert!(matches!(
        ForeignIdentity::from_data_groups(&g),
        Err(CardDataError::InvalidFida(_))
    ));
    let mut g = f.clone();
    edit_group(&mut g, 4, |c| set(c, tags::BANK_SERVICE, &[0x02]));
    assert_eq!(
        ForeignIdentity::from_data_groups(&g),
        Err(CardDataError::InvalidValue {
            tag: tags::BANK_SERVICE
        })
    );
    let mut g = f;
    edit_group(&mut g, 4, |c| set(c, tags::NATIONALITY, b"af"));
    assert_eq!(
        ForeignIdentity::from_data_groups(&g),
        Err(CardDataError::InvalidValue {
            tag: tags::NATIONALITY
        })
    );
}

#[test]
fn encoding_validates_too() {
    let mut id = citizen();
    id.given_name_latin = "Mary@m".into();
    assert_eq!(
        id.to_data_groups(),
        Err(CardDataError::InvalidText {
            tag: tags::GIVEN_NAME_LATIN
        })
    );
    let mut id = citizen();
    id.issue_date = date(2040, 1, 1);
    assert!(matches!(
        id.validate(),
        Err(CardDataError::DatesOutOfOrder { .. })
    ));
    let mut id = foreign_national();
    id.family_group.id = "12ab".into();
    assert!(id.validate().is_err());
    assert!(Portrait::new(b"GIF89a".to_vec()).is_err());
    assert!(Portrait::new(vec![0xFF, 0xD8, 0xFF, 0xE0]).is_ok());
}

#[test]
fn debug_shows_no_personal_data() {
    let n = citizen();
    let f = foreign_national();
    let text = format!(
        "{n:?} {f:?} {:?} {:?} {:?} {:?}",
        n.to_data_groups(),
        n.national_code,
        n.birth_date,
        f.family_group
    );
    for secret in [
        "0076229645",
        "مریم",
        "Maryam",
        "Ahmadi",
        "1990",
        "123456789012",
        "Karimi",
        "4455667788",
        "AFG",
    ] {
        assert!(!text.contains(secret), "Debug leaks {secret}: {text}");
    }
    assert!(text.contains("N000000001"), "the card serial is shown");
}

fn latin_name() -> impl Strategy<Value = String> {
    "[A-Z][a-z]{0,10}( [A-Z][a-z]{1,8})?"
}

fn persian_name() -> impl Strategy<Value = String> {
    "[آابپتثجچحخدذرزژسشصضطظعغفقکگلمنوهی]{1,12}( [آابپتثجچحخدذرزژسشصضطظعغفقکگلمنوهی]{1,12})?"
}

fn any_date(from_jdn: i64, days: i64) -> impl Strategy<Value = Date> {
    (0..days).prop_map(move |d| {
        GregorianDate::from_julian_day(from_jdn + d)
            .and_then(Date::from_gregorian)
            .expect("in range")
    })
}

/// Julian day of 1930-01-01.
const JDN_1930: i64 = 2_425_978;

fn national_identity() -> impl Strategy<Value = NationalIdentity> {
    (
        proptest::array::uniform9(0u8..10),
        (persian_name(), persian_name(), persian_name()),
        (latin_name(), latin_name(), latin_name()),
        (any_date(JDN_1930, 25_000), 0i64..5000, 1i64..5000),
        persian_name(),
        any::<bool>(),
        "[NF][0-9]{9}",
        proptest::collection::vec(any::<u8>(), 0..64),
    )
        .prop_filter_map(
            "valid identity",
            |(
                nine,
                (gf, sf, ff),
                (gl, sl, fl),
                (birth, to_issue, to_expiry),
                place,
                male,
                serial,
                img,
            )| {
                let issue =
                    Date::from_gregorian(birth.gregorian().add_days(to_issue).ok()?).ok()?;
                let expiry =
                    Date::from_gregorian(issue.gregorian().add_days(to_expiry).ok()?).ok()?;
                Some(NationalIdentity {
                    national_code: NationalCode::from_first_nine(nine).ok()?,
                    given_name_fa: gf,
                    surname_fa: sf,
                    given_name_latin: gl,
                    surname_latin: sl,
                    father_name_fa: ff,
                    father_name_latin: fl,
                    birth_date: birth,
                    birth_place: place,
                    gender: if male { Gender::Male } else { Gender::Female },
                    issuing_authority: "ثبت احوال".into(),
                    issue_date: issue,
                    expiry_date: expiry,
                    card_serial: CardSerial::parse(&serial).ok()?,
                    portrait: portrait(&img),
                })
            },
        )
}

fn foreign_identity() -> impl Strategy<Value = ForeignIdentity> {
    (
        "[0-9]{12}",
        (
            persian_name(),
            persian_name(),
            proptest::option::of(persian_name()),
        ),
        (
            latin_name(),
            latin_name(),
            proptest::option::of(latin_name()),
        ),
        (
            any_date(JDN_1930, 25_000),
            0i64..5000,
            1i64..5000,
            0i64..5000,
        ),
        "[A-Z]{3}",
        (0usize..4, 0usize..4, 0usize..5),
        ("[0-9]{1,16}", any::<bool>(), any::<bool>()),
    )
        .prop_filter_map(
            "valid identity",
            |(
                fida,
                (gf, sf, ff),
                (gl, sl, fl),
                (birth, to_issue, to_expiry, valid),
                nat,
                (st, doc, rel),
                (fam, bank, sim),
            )| {
                let issue =
                    Date::from_gregorian(birth.gregorian().add_days(to_issue).ok()?).ok()?;
                let expiry =
                    Date::from_gregorian(issue.gregorian().add_days(to_expiry).ok()?).ok()?;
                let until = Date::from_gregorian(issue.gregorian().add_days(valid).ok()?).ok()?;
                Some(ForeignIdentity {
                    fida: Fida::parse(&fida).ok()?,
                    given_name_fa: gf,
                    surname_fa: sf,
                    given_name_latin: gl,
                    surname_latin: sl,
                    father_name_fa: ff,
                    father_name_latin: fl,
                    birth_date: birth,
                    birth_place: "کابل".into(),
                    gender: Gender::Male,
                    nationality: CountryCode::from_card(nat.as_bytes())?,
                    residence_status: *ResidenceStatus::ALL.get(st)?,
                    document_type: *DocumentType::ALL.get(doc)?,
                    residence_valid_until: until,
                    family_group: FamilyGroup {
                        id: fam,
                        relation: *FamilyRelation::ALL.get(rel)?,
                    },
                    bank_service: bank,
                    sim_service: sim,
                    issuing_authority: "اتباع".into(),
                    issue_date: issue,
                    expiry_date: expiry,
                    card_serial: CardSerial::parse("F123456789").ok()?,
                    portrait: portrait(b""),
                })
            },
        )
}

proptest! {
    #[test]
    fn national_round_trips(id in national_identity()) {
        let groups = id.to_data_groups().map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(NationalIdentity::from_data_groups(&groups), Ok(id.clone()));
        let json = serde_json::to_string(&id).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(serde_json::from_str::<NationalIdentity>(&json).ok(), Some(id));
    }

    #[test]
    fn foreign_round_trips(id in foreign_identity()) {
        let groups = id.to_data_groups().map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(ForeignIdentity::from_data_groups(&groups), Ok(id));
    }

    #[test]
    fn decoding_never_panics(
        dgs in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..200), 4),
    ) {
        let mut groups = DataGroups::new();
        for (n, content) in (1u8..).zip(dgs) {
            groups.insert(n, content);
        }
        let _ = Identity::decode(ProfileId::NationalId, &groups);
        let _ = Identity::decode(ProfileId::ForeignNational, &groups);
    }

    #[test]
    fn corrupted_encodings_never_panic(
        id in national_identity(),
        group in 1u8..4,
        at in any::<prop::sample::Index>(),
        byte in any::<u8>(),
    ) {
        let mut groups = id.to_data_groups().map_err(|e| TestCaseError::fail(e.to_string()))?;
        let mut content = groups.get(group).unwrap_or_default().to_vec();
        if !content.is_empty() {
            let i = at.index(content.len());
            if let Some(b) = content.get_mut(i) {
                *b = byte;
            }
        }
        groups.insert(group, content);
        match NationalIdentity::from_data_groups(&groups) {
            // A changed byte that still decodes re-encodes to the same bytes.
            Ok(decoded) => {
                let again = decoded.to_data_groups().map_err(|e| TestCaseError::fail(e.to_string()))?;
                prop_assert_eq!(
                    NationalIdentity::from_data_groups(&again),
                    Ok(decoded)
                );
            }
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
    }
}
