//! `n2k-dbus registers` over canboat's VE.Can sample: a Victron node at 227
//! broadcasting two link registers. canboat decodes them as 12.72 V and -2.800 A
//! (`victron-61184-vreg.raw`; the register definitions call them the link's battery
//! sense voltage, 0x2002, and extra battery current, 0x201C).

use crate::support::cli::n2k;

/// `n2k-dbus registers <args>`, which must succeed: its standard output.
fn registers(args: &[&str]) -> String {
    n2k(std::iter::once("registers").chain(args.iter().copied())).stdout()
}

#[test]
fn the_link_registers_of_the_canboat_sample_named_and_scaled() {
    let out = registers(&["candump-samples/victron-61184-vreg.raw"]);
    let rows: Vec<Vec<&str>> = out
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(
        rows,
        [
            vec![
                "227",
                "-",
                "0x2002",
                "linkSenseVoltage",
                "12.72",
                "V",
                "2024-01-01T00:00:00.019Z"
            ],
            vec![
                "227",
                "-",
                "0x201C",
                "linkExtraBatteryCurrent",
                "-2.8",
                "A",
                "2024-01-01T00:00:00.020Z"
            ],
        ]
    );
}

#[test]
fn one_device_or_none() {
    let out = registers(&["candump-samples/victron-61184-vreg.raw", "--device", "227"]);
    assert_eq!(out.lines().count(), 3);
    let out = registers(&["candump-samples/victron-61184-vreg.raw", "--device", "5"]);
    assert!(out.contains("(no VE.Can register seen)"));
    // A capture without Victron devices.
    let out = registers(&["candump-samples/candumpSample1.txt"]);
    assert!(out.contains("(no VE.Can register seen)"));
}
