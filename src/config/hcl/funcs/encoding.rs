//! Encoding and hashing functions: JSON, YAML, base64, URL, SHA-1, SHA-256, MD5. Pure.
//!
//! SHA-1 and MD5 are written here (a few lines each) rather than pulling two crates for two
//! functions whose results are only ever compared with other tools' output.

use base64::Engine;
use hcl::eval::FuncArgs;
use hcl::Value;
use sha2::Digest;

use super::{def, str_at, Def, A, S};

pub(super) fn definitions() -> Vec<Def> {
    vec![
        ("jsonencode", "Encodes a value as JSON.", def(&[A], jsonencode)),
        ("jsondecode", "Decodes a JSON string into a value.", def(&[S], jsondecode)),
        ("yamlencode", "Encodes a value as YAML.", def(&[A], yamlencode)),
        (
            "yamldecode",
            "Decodes a YAML string (one document) into a value, e.g. a bare spec file: \
             `spec = yamldecode(file(\"templates/python.yaml\"))`.",
            def(&[S], yamldecode),
        ),
        ("base64encode", "Encodes a string's UTF-8 bytes as base64.", def(&[S], base64encode)),
        ("base64decode", "Decodes base64 into a UTF-8 string.", def(&[S], base64decode)),
        ("urlencode", "Escapes a string for use in a URL query.", def(&[S], urlencode)),
        ("sha1", "The SHA-1 hash of a string, as hex.", def(&[S], sha1)),
        ("sha256", "The SHA-256 hash of a string, as hex.", def(&[S], sha256)),
        ("md5", "The MD5 hash of a string, as hex.", def(&[S], md5)),
    ]
}

fn jsonencode(a: FuncArgs) -> Result<Value, String> {
    serde_json::to_string(&a[0]).map(Value::from).map_err(|e| format!("cannot encode: {e}"))
}

fn jsondecode(a: FuncArgs) -> Result<Value, String> {
    serde_json::from_str::<Value>(str_at(&a, 0)?).map_err(|e| format!("invalid JSON: {e}"))
}

fn yamlencode(a: FuncArgs) -> Result<Value, String> {
    let json = serde_json::to_value(&a[0]).map_err(|e| format!("cannot encode: {e}"))?;
    serde_saphyr::to_string(&json).map(Value::from).map_err(|e| format!("cannot encode: {e}"))
}

/// One YAML document, read by the same reader as config files (the same limits); an error names
/// the line and column in the text, and the file when the text is what `file()` read.
fn yamldecode(a: FuncArgs) -> Result<Value, String> {
    let text = str_at(&a, 0)?;
    let mut sources = crate::diag::Sources::new();
    let id = sources.add("yamldecode", text);
    let mut diags = crate::diag::Diagnostics::new();
    let mut docs = crate::config::yaml::parse(id, text, &mut diags);
    let from = super::file::read_from(text);
    let at = |offset: usize| {
        let (line, col) = sources.get(id).map(|f| f.line_col(offset)).unwrap_or((1, 1));
        match &from {
            Some(path) => format!("{path}:{line}:{col}"),
            None => format!("line {line}, column {col}"),
        }
    };
    if let Some(d) = diags.iter().find(|d| d.is_error()) {
        let offset = d.span.map(|s| s.start).unwrap_or(0);
        return Err(format!("invalid YAML at {}: {}", at(offset), d.message));
    }
    if docs.len() > 1 {
        return Err(format!(
            "yamldecode takes one YAML document; found {} (at {})",
            docs.len(),
            at(docs[1].span.start)
        ));
    }
    let json = docs.pop().map(|d| d.node.to_json()).unwrap_or(serde_json::Value::Null);
    serde_json::from_value(json).map_err(|e| format!("cannot decode: {e}"))
}

fn base64encode(a: FuncArgs) -> Result<Value, String> {
    Ok(base64::engine::general_purpose::STANDARD.encode(str_at(&a, 0)?).into())
}

fn base64decode(a: FuncArgs) -> Result<Value, String> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(str_at(&a, 0)?.trim())
        .map_err(|e| format!("invalid base64: {e}"))?;
    String::from_utf8(bytes).map(Value::from).map_err(|_| "the decoded bytes are not UTF-8".into())
}

fn urlencode(a: FuncArgs) -> Result<Value, String> {
    let mut out = String::new();
    for b in str_at(&a, 0)?.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    Ok(out.into())
}

fn sha256(a: FuncArgs) -> Result<Value, String> {
    Ok(hex::encode(sha2::Sha256::digest(str_at(&a, 0)?.as_bytes())).into())
}

fn sha1(a: FuncArgs) -> Result<Value, String> {
    Ok(hex::encode(sha1_digest(str_at(&a, 0)?.as_bytes())).into())
}

fn md5(a: FuncArgs) -> Result<Value, String> {
    Ok(hex::encode(md5_digest(str_at(&a, 0)?.as_bytes())).into())
}

/// Pads a message the way MD5 and SHA-1 both do; `big_endian` picks the length's byte order.
fn pad(data: &[u8], big_endian: bool) -> Vec<u8> {
    let mut msg = data.to_vec();
    let bits = (data.len() as u64).wrapping_mul(8);
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&if big_endian { bits.to_be_bytes() } else { bits.to_le_bytes() });
    msg
}

fn sha1_digest(data: &[u8]) -> [u8; 20] {
    let mut h: [u32; 5] = [0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0];
    for chunk in pad(data, true).chunks_exact(64) {
        let mut w = [0u32; 80];
        for i in 0..16 {
            w[i] = u32::from_be_bytes([
                chunk[4 * i],
                chunk[4 * i + 1],
                chunk[4 * i + 2],
                chunk[4 * i + 3],
            ]);
        }
        for i in 16..80 {
            w[i] = (w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]).rotate_left(1);
        }
        let [mut a, mut b, mut c, mut d, mut e] = h;
        for (i, wi) in w.iter().enumerate() {
            let (f, k) = match i {
                0..=19 => ((b & c) | (!b & d), 0x5A827999),
                20..=39 => (b ^ c ^ d, 0x6ED9EBA1),
                40..=59 => ((b & c) | (b & d) | (c & d), 0x8F1BBCDC),
                _ => (b ^ c ^ d, 0xCA62C1D6),
            };
            let t =
                a.rotate_left(5).wrapping_add(f).wrapping_add(e).wrapping_add(k).wrapping_add(*wi);
            e = d;
            d = c;
            c = b.rotate_left(30);
            b = a;
            a = t;
        }
        for (x, y) in h.iter_mut().zip([a, b, c, d, e]) {
            *x = x.wrapping_add(y);
        }
    }
    let mut out = [0u8; 20];
    for (i, x) in h.iter().enumerate() {
        out[4 * i..4 * i + 4].copy_from_slice(&x.to_be_bytes());
    }
    out
}

fn md5_digest(data: &[u8]) -> [u8; 16] {
    const S: [u32; 64] = [
        7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 5, 9, 14, 20, 5, 9, 14, 20, 5,
        9, 14, 20, 5, 9, 14, 20, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 6, 10,
        15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21,
    ];
    let k: Vec<u32> =
        (0..64).map(|i| ((i as f64 + 1.0).sin().abs() * 4294967296.0) as u32).collect();
    let mut h: [u32; 4] = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476];
    for chunk in pad(data, false).chunks_exact(64) {
        let m: Vec<u32> =
            chunk.chunks_exact(4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
        let [mut a, mut b, mut c, mut d] = h;
        for i in 0..64 {
            let (f, g) = match i {
                0..=15 => ((b & c) | (!b & d), i),
                16..=31 => ((d & b) | (!d & c), (5 * i + 1) % 16),
                32..=47 => (b ^ c ^ d, (3 * i + 5) % 16),
                _ => (c ^ (b | !d), (7 * i) % 16),
            };
            let f = f.wrapping_add(a).wrapping_add(k[i]).wrapping_add(m[g]);
            a = d;
            d = c;
            c = b;
            b = b.wrapping_add(f.rotate_left(S[i]));
        }
        for (x, y) in h.iter_mut().zip([a, b, c, d]) {
            *x = x.wrapping_add(y);
        }
    }
    let mut out = [0u8; 16];
    for (i, x) in h.iter().enumerate() {
        out[4 * i..4 * i + 4].copy_from_slice(&x.to_le_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::testing::{err, ok};

    #[test]
    fn json_and_yaml() {
        ok(r#"jsonencode({ a = [1, "b", true, null] })"#, r#""{\"a\":[1,\"b\",true,null]}""#);
        ok(r#"jsondecode("{\"a\": [1, 2]}")"#, "{ a = [1, 2] }");
        ok(r#"yamlencode({ a = "b" })"#, r#""a: b\n""#);
        err(r#"jsondecode("{")"#, "invalid JSON");
        err("jsondecode(1)", "string");
        err("yamlencode()", "arguments");
    }

    #[test]
    fn base64_and_url() {
        ok(r#"base64encode("hello")"#, r#""aGVsbG8=""#);
        ok(r#"base64decode("aGVsbG8=")"#, r#""hello""#);
        ok(r#"urlencode("a b&c/é")"#, r#""a+b%26c%2F%C3%A9""#);
        err(r#"base64decode("!!")"#, "invalid base64");
        err(r#"base64decode("/w==")"#, "not UTF-8");
        err("base64encode(1)", "string");
        err("urlencode([])", "string");
    }

    #[test]
    fn hashes_match_known_vectors() {
        ok(r#"sha1("abc")"#, r#""a9993e364706816aba3e25717850c26c9cd0d89d""#);
        ok(r#"sha1("")"#, r#""da39a3ee5e6b4b0d3255bfef95601890afd80709""#);
        ok(
            r#"sha256("abc")"#,
            r#""ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad""#,
        );
        ok(r#"md5("abc")"#, r#""900150983cd24fb0d6963f7d28e17f72""#);
        ok(r#"md5("")"#, r#""d41d8cd98f00b204e9800998ecf8427e""#);
        ok(
            r#"md5("The quick brown fox jumps over the lazy dog and keeps running far away")"#,
            r#""a94c1b8522e4e3e16ab9bafcefe81f78""#,
        );
        ok(
            r#"sha1("The quick brown fox jumps over the lazy dog and keeps running far away")"#,
            r#""2a8300c6a236212cc62c1474db0b2a45fa7baa43""#,
        );
        err("sha1(1)", "string");
        err("sha256(true)", "string");
        err("md5(null)", "string");
    }
}
