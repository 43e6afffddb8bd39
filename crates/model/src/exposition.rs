//! Prometheus's exposition formats, for the servers that serve metrics (`parallax watch`, the
//! gateway's admin listener): OpenMetrics text, as prometheus-client writes it, turned into the
//! classic text format (0.0.4) that `promtool check metrics` and older scrapers read.

/// OpenMetrics text → the classic text format: a counter family `x` is written `x_total` in its
/// HELP and TYPE lines (its samples already are), and the `# EOF` line goes.
pub fn to_text_format(openmetrics: &str) -> String {
    let counters: Vec<&str> = openmetrics
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.strip_suffix(" counter"))
        .collect();
    let mut out = String::with_capacity(openmetrics.len());
    for line in openmetrics.lines() {
        if line == "# EOF" {
            continue;
        }
        let renamed = ["# HELP ", "# TYPE "].iter().find_map(|prefix| {
            let rest = line.strip_prefix(prefix)?;
            let (name, tail) = rest.split_once(' ')?;
            counters
                .contains(&name)
                .then(|| format!("{prefix}{name}_total {tail}"))
        });
        out.push_str(renamed.as_deref().unwrap_or(line));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_get_their_total_in_the_classic_format() {
        let om = "# HELP c Changes.\n# TYPE c counter\nc_total{target=\"a\"} 1\n# HELP g A gauge.\n# TYPE g gauge\ng 0\n# EOF\n";
        assert_eq!(
            to_text_format(om),
            "# HELP c_total Changes.\n# TYPE c_total counter\nc_total{target=\"a\"} 1\n# HELP g A gauge.\n# TYPE g gauge\ng 0\n"
        );
    }
}
