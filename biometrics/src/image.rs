//! Grayscale fingerprint images with their resolution: limits, PNG/BMP/raw decoding and
//! resampling to the 500 ppi the extractor works at (ISO/IEC 19794-4:2005 §7.3 pixel density).

use core::fmt;

/// The smallest width or height accepted, in pixels.
pub const MIN_DIMENSION: usize = 32;
/// The largest width or height accepted, in pixels.
pub const MAX_DIMENSION: usize = 4000;
/// The lowest resolution accepted, in pixels per inch.
pub const MIN_PPI: u16 = 250;
/// The highest resolution accepted, in pixels per inch.
pub const MAX_PPI: u16 = 1000;
/// The resolution the extractor and matcher work at.
pub const STANDARD_PPI: u16 = 500;

/// Why an image was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImageError {
    /// The image has no pixels, or the input is empty.
    #[error("empty image")]
    Empty,
    /// A side is below [`MIN_DIMENSION`] pixels.
    #[error("image too small: {width}×{height} (at least {MIN_DIMENSION} pixels a side)")]
    TooSmall {
        /// Width in pixels.
        width: usize,
        /// Height in pixels.
        height: usize,
    },
    /// A side is above [`MAX_DIMENSION`] pixels.
    #[error("image too large: {width}×{height} (at most {MAX_DIMENSION} pixels a side)")]
    TooLarge {
        /// Width in pixels.
        width: usize,
        /// Height in pixels.
        height: usize,
    },
    /// The resolution is outside [`MIN_PPI`]..=[`MAX_PPI`].
    #[error("unsupported resolution {ppi} ppi (supported: {MIN_PPI}–{MAX_PPI} ppi)")]
    UnsupportedResolution {
        /// The resolution found or given, in pixels per inch.
        ppi: u32,
    },
    /// A raw buffer's length is not width × height.
    #[error("raw image of {expected} pixels expected, {actual} bytes given")]
    BufferLength {
        /// width × height.
        expected: usize,
        /// The buffer's length.
        actual: usize,
    },
    /// The bytes are neither PNG nor BMP.
    #[error("unknown image format (PNG and BMP are read)")]
    UnknownFormat,
    /// The PNG decoder refused the data.
    #[error("malformed PNG")]
    Png(#[source] png::DecodingError),
    /// The BMP data is malformed or of an unsupported variant.
    #[error("malformed or unsupported BMP: {0}")]
    Bmp(&'static str),
}

/// An 8-bit grayscale image (0 black … 255 white), row-major, with its resolution.
///
/// Personal biometric data: `Debug` shows geometry only.
#[derive(Clone, PartialEq, Eq)]
pub struct GrayImage {
    width: usize,
    height: usize,
    ppi: u16,
    pixels: Vec<u8>,
}

impl fmt::Debug for GrayImage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "GrayImage {{ {}×{} @ {} ppi }}",
            self.width, self.height, self.ppi
        )
    }
}

fn check_geometry(width: usize, height: usize) -> Result<(), ImageError> {
    if width == 0 || height == 0 {
        return Err(ImageError::Empty);
    }
    if width > MAX_DIMENSION || height > MAX_DIMENSION {
        return Err(ImageError::TooLarge { width, height });
    }
    if width < MIN_DIMENSION || height < MIN_DIMENSION {
        return Err(ImageError::TooSmall { width, height });
    }
    Ok(())
}

fn check_ppi(ppi: u32) -> Result<u16, ImageError> {
    match u16::try_from(ppi) {
        Ok(p) if (MIN_PPI..=MAX_PPI).contains(&p) => Ok(p),
        _ => Err(ImageError::UnsupportedResolution { ppi }),
    }
}

/// Pixels per metre to pixels per inch, rounded.
fn ppm_to_ppi(ppm: u32) -> u32 {
    let ppi = (f64::from(ppm) * 0.0254).round();
    if ppi >= 0.0 && ppi < f64::from(u32::MAX) {
        // In range by the check above.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let v = ppi as u32;
        v
    } else {
        0
    }
}

impl GrayImage {
    /// An image from raw row-major 8-bit pixels.
    ///
    /// # Errors
    /// Empty, too small or too large geometry, a resolution outside 250–1000 ppi, or a buffer
    /// whose length is not `width × height`.
    pub fn from_raw(
        width: usize,
        height: usize,
        ppi: u16,
        pixels: Vec<u8>,
    ) -> Result<Self, ImageError> {
        check_geometry(width, height)?;
        let ppi = check_ppi(u32::from(ppi))?;
        let expected = width * height; // both ≤ MAX_DIMENSION: no overflow
        if pixels.len() != expected {
            return Err(ImageError::BufferLength {
                expected,
                actual: pixels.len(),
            });
        }
        Ok(Self {
            width,
            height,
            ppi,
            pixels,
        })
    }

    /// Decodes a PNG or BMP file (told apart by its signature).
    ///
    /// `ppi` overrides the resolution; without it the file's own (PNG `pHYs`, BMP
    /// `biXPelsPerMeter`) is used, and 500 ppi when the file states none.
    ///
    /// # Errors
    /// [`ImageError::UnknownFormat`], a decoding error, or the geometry and resolution limits.
    pub fn decode(bytes: &[u8], ppi: Option<u16>) -> Result<Self, ImageError> {
        if bytes.is_empty() {
            Err(ImageError::Empty)
        } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Self::decode_png(bytes, ppi)
        } else if bytes.starts_with(b"BM") {
            Self::decode_bmp(bytes, ppi)
        } else {
            Err(ImageError::UnknownFormat)
        }
    }

    /// Decodes a PNG (any colour type and depth; colour is converted to luma, alpha ignored).
    ///
    /// # Errors
    /// As [`GrayImage::decode`].
    pub fn decode_png(bytes: &[u8], ppi: Option<u16>) -> Result<Self, ImageError> {
        let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
        decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
        let mut reader = decoder.read_info().map_err(ImageError::Png)?;
        let (w, h, dims) = {
            let info = reader.info();
            (info.width, info.height, info.pixel_dims)
        };
        let width = usize::try_from(w).map_err(|_| ImageError::TooLarge {
            width: usize::MAX,
            height: usize::MAX,
        })?;
        let height = usize::try_from(h).map_err(|_| ImageError::TooLarge {
            width: usize::MAX,
            height: usize::MAX,
        })?;
        check_geometry(width, height)?;
        let file_ppi = dims.and_then(|d| match d.unit {
            png::Unit::Meter => Some(ppm_to_ppi(d.xppu)),
            png::Unit::Unspecified => None,
        });
        let ppi = check_ppi(ppi.map_or(file_ppi.unwrap_or(500), u32::from))?;
        let size = reader
            .output_buffer_size()
            .ok_or(ImageError::TooLarge { width, height })?;
        let mut buf = vec![0u8; size];
        let out = reader.next_frame(&mut buf).map_err(ImageError::Png)?;
        let channels = match out.color_type {
            png::ColorType::Grayscale => 1,
            png::ColorType::GrayscaleAlpha => 2,
            png::ColorType::Rgb => 3,
            png::ColorType::Rgba => 4,
            png::ColorType::Indexed => return Err(ImageError::UnknownFormat),
        };
        let mut pixels = Vec::with_capacity(width * height);
        for row in buf.chunks(out.line_size).take(height) {
            for px in row.chunks_exact(channels).take(width) {
                pixels.push(match *px {
                    [g] | [g, _] => g,
                    [r, g, b] | [r, g, b, _] => luma(r, g, b),
                    _ => 0,
                });
            }
        }
        Self::from_raw(width, height, ppi, pixels)
    }

    /// Decodes an uncompressed Windows BMP (8-bit paletted, 24-bit or 32-bit; bottom-up or
    /// top-down).
    ///
    /// # Errors
    /// As [`GrayImage::decode`].
    pub fn decode_bmp(bytes: &[u8], ppi: Option<u16>) -> Result<Self, ImageError> {
        let u16_at = |o: usize| -> Result<u16, ImageError> {
            bytes
                .get(o..o + 2)
                .and_then(|s| <[u8; 2]>::try_from(s).ok())
                .map(u16::from_le_bytes)
                .ok_or(ImageError::Bmp("truncated header"))
        };
        let u32_at = |o: usize| -> Result<u32, ImageError> {
            bytes
                .get(o..o + 4)
                .and_then(|s| <[u8; 4]>::try_from(s).ok())
                .map(u32::from_le_bytes)
                .ok_or(ImageError::Bmp("truncated header"))
        };
        if !bytes.starts_with(b"BM") {
            return Err(ImageError::UnknownFormat);
        }
        let offset = usize::try_from(u32_at(10)?).map_err(|_| ImageError::Bmp("bad offset"))?;
        let dib = usize::try_from(u32_at(14)?).map_err(|_| ImageError::Bmp("bad header"))?;
        if dib < 40 {
            return Err(ImageError::Bmp("only BITMAPINFOHEADER and later are read"));
        }
        let w = i32::from_le_bytes(u32_at(18)?.to_le_bytes());
        let h = i32::from_le_bytes(u32_at(22)?.to_le_bytes());
        let bpp = u16_at(28)?;
        let compression = u32_at(30)?;
        let xppm = u32_at(38)?;
        let colors_used = u32_at(46)?;
        if compression != 0 && !(compression == 3 && bpp == 32) {
            return Err(ImageError::Bmp("compressed BMP"));
        }
        let top_down = h < 0;
        let width = usize::try_from(w).map_err(|_| ImageError::Bmp("negative width"))?;
        let height =
            usize::try_from(h.unsigned_abs()).map_err(|_| ImageError::Bmp("bad height"))?;
        check_geometry(width, height)?;
        let file_ppi = (xppm > 0).then(|| ppm_to_ppi(xppm));
        let ppi = check_ppi(ppi.map_or(file_ppi.unwrap_or(500), u32::from))?;
        let bytes_pp = match bpp {
            8 => 1,
            24 => 3,
            32 => 4,
            _ => return Err(ImageError::Bmp("only 8, 24 and 32 bits per pixel are read")),
        };
        let mut palette = [0u8; 256];
        if bpp == 8 {
            let n = if colors_used == 0 {
                256
            } else {
                colors_used.min(256)
            };
            let n = usize::try_from(n).unwrap_or(256);
            let table = bytes
                .get(14 + dib..14 + dib + 4 * n)
                .ok_or(ImageError::Bmp("truncated palette"))?;
            for (slot, c) in palette.iter_mut().zip(table.chunks_exact(4)) {
                if let [b, g, r, _] = *c {
                    *slot = luma(r, g, b);
                }
            }
        }
        let stride = (width * bytes_pp).div_ceil(4) * 4;
        let data = bytes
            .get(offset..)
            .and_then(|d| d.get(..stride * height))
            .ok_or(ImageError::Bmp("truncated pixel data"))?;
        let mut pixels = vec![0u8; width * height];
        for (i, src) in data.chunks_exact(stride).enumerate() {
            let y = if top_down { i } else { height - 1 - i };
            let Some(dst) = pixels.get_mut(y * width..(y + 1) * width) else {
                continue;
            };
            for (d, px) in dst.iter_mut().zip(src.chunks_exact(bytes_pp)) {
                *d = match *px {
                    [v] => palette.get(usize::from(v)).copied().unwrap_or(v),
                    [b, g, r] | [b, g, r, _] => luma(r, g, b),
                    _ => 0,
                };
            }
        }
        Self::from_raw(width, height, ppi, pixels)
    }

    /// Width in pixels.
    #[must_use]
    pub fn width(&self) -> usize {
        self.width
    }

    /// Height in pixels.
    #[must_use]
    pub fn height(&self) -> usize {
        self.height
    }

    /// Resolution in pixels per inch.
    #[must_use]
    pub fn ppi(&self) -> u16 {
        self.ppi
    }

    /// The pixels, row-major, 0 black … 255 white.
    #[must_use]
    pub fn pixels(&self) -> &[u8] {
        &self.pixels
    }

    /// The same image at [`STANDARD_PPI`] (bilinear, with box prefiltering when shrinking);
    /// a clone when it is already at 500 ppi.
    ///
    /// # Errors
    /// When the resampled image falls below [`MIN_DIMENSION`].
    pub fn resampled_to_500ppi(&self) -> Result<Self, ImageError> {
        if self.ppi == STANDARD_PPI {
            return Ok(self.clone());
        }
        let scale = f64::from(STANDARD_PPI) / f64::from(self.ppi);
        let nw = round_dim(self.width, scale);
        let nh = round_dim(self.height, scale);
        check_geometry(nw, nh)?;
        // Box prefilter when shrinking by ≥ 1.5×: average over a k×k window.
        let src: Vec<u8> = if scale < 0.67 {
            box_blur(&self.pixels, self.width, self.height, (1.0 / scale).round())
        } else {
            self.pixels.clone()
        };
        let mut out = Vec::with_capacity(nw * nh);
        let inv = 1.0 / scale;
        let maxx = (self.width - 1) as f64;
        let maxy = (self.height - 1) as f64;
        for y in 0..nh {
            let sy = ((y as f64 + 0.5) * inv - 0.5).clamp(0.0, maxy);
            let y0 = sy.floor();
            let fy = sy - y0;
            let y0 = to_index(y0);
            let y1 = (y0 + 1).min(self.height - 1);
            for x in 0..nw {
                let sx = ((x as f64 + 0.5) * inv - 0.5).clamp(0.0, maxx);
                let x0 = sx.floor();
                let fx = sx - x0;
                let x0 = to_index(x0);
                let x1 = (x0 + 1).min(self.width - 1);
                let p = |xx: usize, yy: usize| {
                    f64::from(src.get(yy * self.width + xx).copied().unwrap_or(0))
                };
                let v = p(x0, y0) * (1.0 - fx) * (1.0 - fy)
                    + p(x1, y0) * fx * (1.0 - fy)
                    + p(x0, y1) * (1.0 - fx) * fy
                    + p(x1, y1) * fx * fy;
                out.push(to_u8(v));
            }
        }
        Self::from_raw(nw, nh, STANDARD_PPI, out)
    }
}

fn box_blur(px: &[u8], w: usize, h: usize, k: f64) -> Vec<u8> {
    let k = to_index(k).max(1);
    let r = k / 2;
    let mut out = vec![0u8; px.len()];
    for y in 0..h {
        for x in 0..w {
            let (mut s, mut n) = (0u32, 0u32);
            for yy in y.saturating_sub(r)..(y + r + 1).min(h) {
                for xx in x.saturating_sub(r)..(x + r + 1).min(w) {
                    s += u32::from(px.get(yy * w + xx).copied().unwrap_or(0));
                    n += 1;
                }
            }
            if let Some(o) = out.get_mut(y * w + x) {
                *o = u8::try_from(s / n.max(1)).unwrap_or(u8::MAX);
            }
        }
    }
    out
}

fn round_dim(d: usize, scale: f64) -> usize {
    to_index((d as f64 * scale).round())
}

/// A non-negative finite f64 to an index (saturating; NaN → 0).
fn to_index(v: f64) -> usize {
    if v.is_finite() && v > 0.0 {
        // Saturating float-to-int conversion is the intent.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let i = v as usize;
        i
    } else {
        0
    }
}

fn to_u8(v: f64) -> u8 {
    // Clamped first: the conversion is exact for 0..=255.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let b = v.round().clamp(0.0, 255.0) as u8;
    b
}

/// ITU-R BT.601 luma.
fn luma(r: u8, g: u8, b: u8) -> u8 {
    let y = (299 * u32::from(r) + 587 * u32::from(g) + 114 * u32::from(b) + 500) / 1000;
    u8::try_from(y).unwrap_or(u8::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn bmp8(w: usize, h: usize, ppm: u32) -> Vec<u8> {
        let stride = w.div_ceil(4) * 4;
        let off = 14 + 40 + 1024;
        let mut b = Vec::new();
        b.extend_from_slice(b"BM");
        b.extend_from_slice(&u32::try_from(off + stride * h).unwrap().to_le_bytes());
        b.extend_from_slice(&[0; 4]);
        b.extend_from_slice(&u32::try_from(off).unwrap().to_le_bytes());
        b.extend_from_slice(&40u32.to_le_bytes());
        b.extend_from_slice(&i32::try_from(w).unwrap().to_le_bytes());
        b.extend_from_slice(&i32::try_from(h).unwrap().to_le_bytes());
        b.extend_from_slice(&1u16.to_le_bytes());
        b.extend_from_slice(&8u16.to_le_bytes());
        b.extend_from_slice(&0u32.to_le_bytes());
        b.extend_from_slice(&0u32.to_le_bytes());
        b.extend_from_slice(&ppm.to_le_bytes());
        b.extend_from_slice(&ppm.to_le_bytes());
        b.extend_from_slice(&0u32.to_le_bytes());
        b.extend_from_slice(&0u32.to_le_bytes());
        for i in 0..=255u8 {
            b.extend_from_slice(&[i, i, i, 0]);
        }
        for row in 0..h {
            let y = h - 1 - row; // bottom-up
            for x in 0..stride {
                b.push(u8::try_from((x + 3 * y) % 256).unwrap());
            }
        }
        b
    }

    #[test]
    fn bmp_decodes_bottom_up_with_resolution() {
        let img = GrayImage::decode(&bmp8(37, 40, 19685), None).unwrap();
        assert_eq!((img.width(), img.height(), img.ppi()), (37, 40, 500));
        assert_eq!(img.pixels()[0], 0);
        assert_eq!(img.pixels()[37 * 2 + 5], 11);
    }

    #[test]
    fn png_decodes_with_phys() {
        let mut out = Vec::new();
        {
            let mut enc = png::Encoder::new(&mut out, 40, 33);
            enc.set_color(png::ColorType::Grayscale);
            enc.set_pixel_dims(Some(png::PixelDimensions {
                xppu: 39370,
                yppu: 39370,
                unit: png::Unit::Meter,
            }));
            let mut w = enc.write_header().unwrap();
            let data: Vec<u8> = (0..40 * 33)
                .map(|i| u8::try_from(i % 251).unwrap())
                .collect();
            w.write_image_data(&data).unwrap();
        }
        let img = GrayImage::decode(&out, None).unwrap();
        assert_eq!((img.width(), img.height(), img.ppi()), (40, 33, 1000));
        assert_eq!(img.pixels()[45], 45);
        let small = img.resampled_to_500ppi();
        assert!(matches!(small, Err(ImageError::TooSmall { .. })));
        let img = GrayImage::decode(&out, Some(500)).unwrap();
        assert_eq!(img.ppi(), 500);
    }

    #[test]
    fn limits_are_enforced() {
        assert!(matches!(
            GrayImage::decode(&[], None),
            Err(ImageError::Empty)
        ));
        assert!(matches!(
            GrayImage::from_raw(4001, 40, 500, vec![0; 4001 * 40]),
            Err(ImageError::TooLarge { .. })
        ));
        assert!(matches!(
            GrayImage::from_raw(40, 40, 200, vec![0; 1600]),
            Err(ImageError::UnsupportedResolution { ppi: 200 })
        ));
        assert!(matches!(
            GrayImage::from_raw(40, 40, 500, vec![0; 1599]),
            Err(ImageError::BufferLength { .. })
        ));
        assert!(matches!(
            GrayImage::decode(b"GIF89a", None),
            Err(ImageError::UnknownFormat)
        ));
    }

    #[test]
    fn resampling_changes_geometry() {
        let img = GrayImage::from_raw(100, 80, 1000, vec![128; 8000]).unwrap();
        let r = img.resampled_to_500ppi().unwrap();
        assert_eq!((r.width(), r.height(), r.ppi()), (50, 40, 500));
        assert!(r.pixels().iter().all(|&p| p == 128));
        let img = GrayImage::from_raw(100, 80, 250, vec![7; 8000]).unwrap();
        let r = img.resampled_to_500ppi().unwrap();
        assert_eq!((r.width(), r.height()), (200, 160));
    }

    proptest! {
        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600), bmp in any::<bool>()) {
            let mut b = bytes;
            if bmp && b.len() > 2 { b[0] = b'B'; b[1] = b'M'; }
            let _ = GrayImage::decode(&b, None);
        }

        #[test]
        fn corrupted_bmp_never_panics(i in 0usize..1200, v in any::<u8>()) {
            let mut b = bmp8(33, 33, 0);
            let n = b.len();
            b[i % n] = v;
            let _ = GrayImage::decode(&b, None);
        }
    }
}
