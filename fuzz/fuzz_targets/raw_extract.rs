#![no_main]
//! Extraction and quality on arbitrary raw pixels (the first 2 bytes choose the geometry).

use libfuzzer_sys::fuzz_target;
use shenas_biometrics::{image::GrayImage, quality::assess};

fuzz_target!(|data: &[u8]| {
    if let [w, h, rest @ ..] = data {
        let (w, h) = (32 + usize::from(*w % 96), 32 + usize::from(*h % 96));
        let mut px = rest.to_vec();
        px.resize(w * h, 128);
        if let Ok(img) = GrayImage::from_raw(w, h, 500, px) {
            let _ = assess(&img);
        }
    }
});
