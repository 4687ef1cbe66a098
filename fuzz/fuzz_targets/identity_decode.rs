#![no_main]
//! Identity data groups of both profiles: decoding never panics, and whatever decodes
//! re-encodes to data groups that decode to the same identity.

use libfuzzer_sys::fuzz_target;
use shenas_cards::profile::ProfileId;
use shenas_cards::profile::identity::{DataGroups, Identity};

fuzz_target!(|data: &[u8]| {
    for profile in [ProfileId::NationalId, ProfileId::ForeignNational] {
        let Ok(groups) = DataGroups::from_templates(profile, data) else { continue };
        if let Ok(identity) = Identity::decode(profile, &groups) {
            let again = identity.to_data_groups().expect("a decoded identity re-encodes");
            assert_eq!(Identity::decode(profile, &again).ok(), Some(identity));
        }
    }
});
