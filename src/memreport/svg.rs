//! A horizontal bar chart of import costs, as hand-written SVG: one bar per module, largest
//! first, with its byte count and its share of the free heap. Monospace labels keep the layout
//! computable without font metrics, so the output is deterministic.

use std::io::{self, Write};

use super::{sorted, MemReport, SortBy};
use crate::testrun::report::xml_escape;

const FONT: f64 = 13.0;
/// Advance of one monospace character at `FONT` (DejaVu Sans Mono: 0.602 em).
const CHAR_W: f64 = FONT * 0.61;
const ROW: f64 = 22.0;
const BAR_H: f64 = 14.0;
const BAR_W: f64 = 520.0;
const TOP: f64 = 104.0;
const MARGIN: f64 = 16.0;
const BAR_COLOR: &str = "#3f6fb5";
const FAIL_COLOR: &str = "#b83227";

/// `29936` -> `29,936`.
pub fn group(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 {
        out.insert(0, '-');
    }
    out
}

/// A round tick step giving at most about six gridlines up to `max`.
fn tick_step(max: i64) -> i64 {
    let mut step = 1;
    loop {
        for m in [1, 2, 5] {
            if max / (step * m) <= 6 {
                return step * m;
            }
        }
        step *= 10;
    }
}

fn tick_label(v: i64) -> String {
    if v >= 1024 && v % 1024 == 0 {
        format!("{}K", v / 1024)
    } else if v >= 1000 && v % 1000 == 0 {
        format!("{}k", v / 1000)
    } else {
        v.to_string()
    }
}

/// Write the chart.
pub fn write_svg(w: &mut impl Write, report: &MemReport) -> io::Result<()> {
    let entries = sorted(report, SortBy::Size);
    let name_chars = entries.iter().map(|e| e.module.len()).max().unwrap_or(6);
    let label_w = name_chars as f64 * CHAR_W + 12.0;
    let value_w = 26.0 * CHAR_W;
    let x0 = MARGIN + label_w;
    let width = (x0 + BAR_W + value_w + MARGIN).max(560.0).round();
    let height = (TOP + entries.len() as f64 * ROW + 40.0).round();
    let max = entries
        .iter()
        .filter_map(|e| e.bytes)
        .max()
        .unwrap_or(0)
        .max(1);
    let step = tick_step(max);
    let scale_max = (max / step + i64::from(max % step != 0)).saturating_mul(step);
    let x_of = |v: i64| x0 + v as f64 * BAR_W / scale_max as f64;
    let chart_bottom = TOP + entries.len() as f64 * ROW;

    writeln!(
        w,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="DejaVu Sans, Verdana, sans-serif">"#
    )?;
    writeln!(w, r##"<rect width="100%" height="100%" fill="#ffffff"/>"##)?;
    writeln!(
        w,
        r##"<text x="{MARGIN}" y="30" font-size="18" font-weight="bold" fill="#222">Heap kept by importing each module</text>"##
    )?;
    let mut sub = report.vm_line();
    if let Some(free) = report.free_at_start {
        sub.push_str(&format!(", {} bytes free before the import", group(free)));
    }
    writeln!(
        w,
        r##"<text x="{MARGIN}" y="52" font-size="13" fill="#555">{}</text>"##,
        xml_escape(&sub, false)
    )?;
    writeln!(
        w,
        r##"<text x="{MARGIN}" y="70" font-size="11" fill="#777">gc.mem_alloc() after gc.collect(), one fresh VM per module; percentages are of the free heap</text>"##
    )?;

    // Gridlines and their labels.
    for v in (0..=scale_max / step).map(|k| k * step) {
        let x = x_of(v);
        writeln!(
            w,
            r##"<line x1="{x:.1}" y1="{:.1}" x2="{x:.1}" y2="{chart_bottom:.1}" stroke="#dddddd" stroke-width="1"/>"##,
            TOP - 6.0
        )?;
        writeln!(
            w,
            r##"<text x="{x:.1}" y="{:.1}" font-size="11" fill="#777" text-anchor="middle">{}</text>"##,
            TOP - 10.0,
            tick_label(v)
        )?;
    }

    let free = report.free_at_start.filter(|&f| f > 0);
    for (i, e) in entries.iter().enumerate() {
        let y = TOP + i as f64 * ROW;
        let text_y = y + ROW / 2.0 + FONT * 0.35;
        writeln!(
            w,
            r##"<text x="{:.1}" y="{text_y:.1}" font-family="DejaVu Sans Mono, monospace" font-size="{FONT}" fill="#222" text-anchor="end">{}</text>"##,
            x0 - 8.0,
            xml_escape(&e.module, false)
        )?;
        match e.bytes {
            Some(b) => {
                let bw = (x_of(b.max(0)) - x0).max(1.0);
                writeln!(
                    w,
                    r#"<rect x="{x0:.1}" y="{:.1}" width="{bw:.1}" height="{BAR_H}" fill="{BAR_COLOR}"/>"#,
                    y + (ROW - BAR_H) / 2.0
                )?;
                let share = free
                    .map(|f| {
                        format!(
                            r##"<tspan dx="6" fill="#777">({:.1}%)</tspan>"##,
                            b as f64 * 100.0 / f as f64
                        )
                    })
                    .unwrap_or_default();
                writeln!(
                    w,
                    r##"<text x="{:.1}" y="{text_y:.1}" font-family="DejaVu Sans Mono, monospace" font-size="{FONT}" fill="#222">{} B{share}</text>"##,
                    x0 + bw + 6.0,
                    group(b)
                )?;
            }
            None => writeln!(
                w,
                r#"<text x="{:.1}" y="{text_y:.1}" font-size="{FONT}" fill="{FAIL_COLOR}">{}</text>"#,
                x0 + 4.0,
                xml_escape(&e.error, false)
            )?,
        }
    }
    writeln!(
        w,
        r##"<line x1="{x0:.1}" y1="{:.1}" x2="{x0:.1}" y2="{chart_bottom:.1}" stroke="#444" stroke-width="1"/>"##,
        TOP - 6.0
    )?;
    writeln!(w, "</svg>")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memreport::{MemEntry, MemStatus};
    use crate::testrun::vm::VmInfo;
    use crate::testrun::VmIdent;

    /// The original project's README table (CircuitPython on a Metro M4, 2018) as a report.
    pub(crate) fn readme_report() -> MemReport {
        let figures = [
            ("contextlib", 2192),
            ("copy", 3520),
            ("copyreg", 480),
            ("datetime", 29936),
            ("difflib", 16688),
            ("fnmatch", 12368),
            ("functools", 864),
            ("io", 112),
            ("itertools", 5120),
            ("logging", 32336),
            ("operator", 1216),
            ("os", 9824),
            ("pathlib", 33936),
            ("re", 1648),
            ("shutil", 15680),
            ("stat", 1936),
            ("tempfile", 18976),
            ("time", 2576),
            ("traceback", 3072),
            ("types", 224),
            ("unittest", 78448),
            ("warnings", 512),
            ("zipfile", 29664),
        ];
        let mut entries: Vec<MemEntry> = figures
            .iter()
            .map(|&(m, b)| MemEntry {
                module: m.into(),
                status: MemStatus::Ok,
                bytes: Some(b),
                error: String::new(),
            })
            .collect();
        entries.push(MemEntry {
            module: "email".into(),
            status: MemStatus::OutOfMemory,
            bytes: None,
            error: "MemoryError".into(),
        });
        MemReport {
            format: "portlib-mem".into(),
            vm: VmInfo {
                board: "host".into(),
                location: "micropython32".into(),
                heap: 196608,
            },
            runtime: Some(VmIdent {
                implementation: "micropython".into(),
                version: "3.4.0; MicroPython v1.26.1".into(),
                bits: 32,
            }),
            free_at_start: Some(186912),
            entries,
        }
    }

    #[test]
    fn bars_sorted_and_proportional() {
        let mut out = Vec::new();
        write_svg(&mut out, &readme_report()).unwrap();
        let mut again = Vec::new();
        write_svg(&mut again, &readme_report()).unwrap();
        assert_eq!(out, again, "output must be deterministic");
        let text = String::from_utf8(out).unwrap();
        let doc = roxmltree::Document::parse(&text).expect("well-formed SVG");
        let bars: Vec<f64> = doc
            .descendants()
            .filter(|n| n.has_tag_name("rect") && n.attribute("fill") == Some(BAR_COLOR))
            .map(|n| n.attribute("width").unwrap().parse().unwrap())
            .collect();
        assert_eq!(bars.len(), 23);
        assert!(bars.windows(2).all(|w| w[0] >= w[1]), "{bars:?}");
        // unittest (78448) on an axis rounded up to 80000.
        assert!(
            (bars[0] - BAR_W * 78448.0 / 80000.0).abs() < 0.1,
            "{}",
            bars[0]
        );
        let texts: Vec<&str> = doc
            .descendants()
            .filter(|n| n.is_text())
            .filter_map(|n| n.text())
            .collect();
        assert!(texts.contains(&"78,448 B"));
        assert!(texts.contains(&"(42.0%)"));
        assert!(texts.contains(&"MemoryError"));
        assert!(texts.iter().any(|t| t.contains("(32-bit), heap 192K")));
        for tick in ["0", "20k", "40k", "60k", "80k"] {
            assert!(texts.contains(&tick), "no tick {tick}");
        }
        assert!(!texts.contains(&"100k"));
    }

    /// Regression: a byte count near i64::MAX (from the board or a report file) overflowed
    /// rounding the axis up to a whole tick.
    #[test]
    fn extreme_figures_do_not_overflow() {
        let mut report = readme_report();
        report.entries[0].bytes = Some(i64::MAX);
        let mut out = Vec::new();
        write_svg(&mut out, &report).unwrap();
        roxmltree::Document::parse(std::str::from_utf8(&out).unwrap()).expect("well-formed SVG");
    }

    #[test]
    fn helpers() {
        assert_eq!(group(1234567), "1,234,567");
        assert_eq!(group(-512), "-512");
        assert_eq!(group(0), "0");
        assert_eq!(tick_step(78448), 20000);
        assert_eq!(tick_step(5056), 1000);
        assert_eq!(tick_step(3), 1);
        assert_eq!(tick_label(20000), "20k");
        assert_eq!(tick_label(2048), "2K");
        assert_eq!(tick_label(500), "500");
    }
}
