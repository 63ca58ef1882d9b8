use super::plan::{estimate_keygen_memory, estimate_prove_memory};
use super::shape::{Chip, ChipSet, CircuitShape};

/// The memory estimates cover the peaks measured on this project's machine (`/usr/bin/time`),
/// without refusing what fits: the full reference CNN of issue 11 (k = 21) took 13.9 GB to set
/// up and 16.8 GB to prove; the reduced one (k = 13) 110 and 79 MB; LeNet stacked for the EVM
/// (k = 17) 318 and 346 MB.
#[test]
fn the_memory_estimates_cover_the_measured_peaks() {
    let chips = [Chip::Dot, Chip::Affine, Chip::Mul, Chip::Requant, Chip::Div, Chip::Max, Chip::Sqrt, Chip::Input];
    let full = CircuitShape {
        k: 21,
        lookup_bits: 18,
        advice: 14,
        rem_lanes: 1,
        mag_lanes: 1,
        table_rows: 0,
        range_widths: 507905,
        poseidon: false,
        witness_weights: false,
        chips: chips.into_iter().fold(ChipSet::none(), ChipSet::with).with(Chip::Freivalds),
        stacked: false,
    };
    let reduced = CircuitShape { k: 13, lookup_bits: 12, advice: 12, rem_lanes: 1, mag_lanes: 1, ..full };
    // LeNet laid out for the EVM (issue 10): stacked, one advice and one lane column at k = 17.
    let lenet_stacked = CircuitShape {
        k: 17,
        lookup_bits: 16,
        advice: 4,
        rem_lanes: 1,
        mag_lanes: 1,
        range_widths: 65549,
        chips: ChipSet::none().with(Chip::Dot).with(Chip::Requant).with(Chip::Input),
        stacked: true,
        ..full
    };
    let mb = |b: u64| b as f64 / (1u64 << 20) as f64;
    // Below this an estimate may be high: 160 MB refuses nothing on any machine zkonnx runs on.
    const SMALL_MB: f64 = 128.0;
    for (shape, keygen, prove) in [(full, 13_534.0, 16_359.0), (reduced, 108.0, 78.0), (lenet_stacked, 318.0, 346.0)] {
        let (k, p) = (mb(estimate_keygen_memory(&shape)), mb(estimate_prove_memory(&shape)));
        assert!(
            k >= keygen && k <= 1.25 * keygen.max(SMALL_MB),
            "keygen at k={}: estimated {k:.0} MB, measured {keygen}",
            shape.k
        );
        assert!(
            p >= prove && p <= 1.25 * prove.max(SMALL_MB),
            "proving at k={}: estimated {p:.0} MB, measured {prove}",
            shape.k
        );
    }
}
