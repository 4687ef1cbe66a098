#![no_main]
//! PNG/BMP decoding and the whole extraction pipeline: never panics on any bytes.

use libfuzzer_sys::fuzz_target;
use shenas_biometrics::{extract::extract, image::GrayImage};

fuzz_target!(|data: &[u8]| {
    if let Ok(img) = GrayImage::decode(data, None)
        && img.width() * img.height() <= 256 * 256
    {
        let _ = extract(&img);
    }
});
