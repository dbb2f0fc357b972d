//! How a benchmark states one of its numbers against the baseline measured
//! in the same run.

/// "exh-task {verb} N× {smaller} than {baseline}" when `ours` is the smaller
/// cost, else "… N× {larger} …"; e.g. `("is", ("faster", "slower"))`.
pub fn compare(
    ours: f64,
    theirs: f64,
    verb: &str,
    (smaller, larger): (&str, &str),
    baseline: &str,
) -> String {
    let (ratio, word) = if ours <= theirs {
        (theirs / ours, smaller)
    } else {
        (ours / theirs, larger)
    };
    format!("exh-task {verb} {ratio:.1}× {word} than {baseline}")
}
