//! Input read with a bound: a file, a FIFO or `/dev/zero` that never ends
//! is refused past it rather than filling the memory.

use std::io::Read;

/// The UTF-8 text of `source`, which errors call `name`; refused past
/// `most` bytes, saying `why` that is too much.
pub fn text(source: impl Read, name: &str, most: usize, why: &str) -> Result<String, String> {
    let mut bytes = Vec::new();
    source
        .take(most as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|error| format!("{name}: {error}"))?;
    if bytes.len() > most {
        return Err(format!("{name}: over {most} bytes, {why}"));
    }
    String::from_utf8(bytes).map_err(|error| format!("{name}: not UTF-8 text: {error}"))
}
