//! Devices known to misreport a field, and the correction that makes their value
//! right: a unit off by a power of ten, a field sent in the wrong resolution.
//!
//! A row names the device by manufacturer code (NAME) and model (126996 Model ID,
//! as its beginning), the PGN and field, and the factor the raw value is multiplied
//! by before it is converted to Venus units. Every row cites the capture that shows
//! the fault; a device without a row is not corrected (a value it misreports badly
//! enough is caught by [`super::plausible`] instead and shown as invalid).

/// One correction.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quirk {
    pub manufacturer: u16,
    /// The start of the device's 126996 Model ID.
    pub model: &'static str,
    pub pgn: u32,
    /// The field id (`pgn-defs/`), as the profiles name it.
    pub field: &'static str,
    pub factor: f64,
    /// The capture and the values that show the fault.
    pub evidence: &'static str,
}

/// The corrections n2k-dbus applies. None of the shared captures shows a device
/// that a factor would correct: the 1000× AC power reported from a capture kept
/// outside the repository (1,004,774 W at 225.7 V × 4.4 A) names no device, so it
/// has no row and its value is refused by [`super::plausible::power_fits`].
pub const QUIRKS: &[Quirk] = &[];

/// The factor for `field` of `pgn` from a device of `manufacturer` whose model
/// begins `model`, if a row applies.
pub fn factor(
    quirks: &[Quirk],
    manufacturer: u16,
    model: &str,
    pgn: u32,
    field: &str,
) -> Option<f64> {
    quirks
        .iter()
        .find(|q| {
            q.pgn == pgn
                && q.manufacturer == manufacturer
                && q.field == field
                && model.starts_with(q.model)
        })
        .map(|q| q.factor)
}

/// Whether any row concerns `pgn` (the common case is none: no lookup per field).
pub fn concerns(quirks: &[Quirk], pgn: u32) -> bool {
    quirks.iter().any(|q| q.pgn == pgn)
}
