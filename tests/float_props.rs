//! Properties of the float repr that must hold for every double, not just the vectors.

use portlib::mpy::float::{parse_float_literal, parse_imag_literal, repr_complex_imag, repr_float};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(20_000))]

    /// Any bit pattern formats without panicking; finite values parse back to the same bits.
    #[test]
    fn repr_round_trips(bits in any::<u64>()) {
        let x = f64::from_bits(bits);
        let text = repr_float(x);
        prop_assert!(!text.is_empty());
        if x.is_finite() {
            let back = parse_float_literal(text.as_bytes()).unwrap();
            prop_assert_eq!(back.to_bits(), x.to_bits(), "{} -> {}", x, text);
            let imag = repr_complex_imag(x);
            let back = parse_imag_literal(imag.as_bytes()).unwrap();
            prop_assert_eq!(back.to_bits(), x.to_bits(), "{} -> {}", x, imag);
        }
    }

    /// Subnormals and the bottom of the normal range, where the formatter is least regular.
    #[test]
    fn tiny_values_round_trip(bits in 0u64..0x0020_0000_0000_0000) {
        let x = f64::from_bits(bits);
        let text = repr_float(x);
        let back = parse_float_literal(text.as_bytes()).unwrap();
        prop_assert_eq!(back.to_bits(), x.to_bits(), "{} -> {}", x, text);
    }

    /// Arbitrary digit strings never panic the parser, and give a value or a syntax error.
    #[test]
    fn parser_is_total(text in "[0-9._eE+j-]{0,40}") {
        let _ = parse_float_literal(text.as_bytes());
    }
}
