//! The HEXONET list both benches read: a `QueryDomainList` answer as the
//! API writes it, the same bytes for exh-task and the SDK.

/// A column of [`domain_list`]: its name and the value of row `i`.
type Column = (&'static str, fn(usize) -> String);

/// A `QueryDomainList` answer of `rows` records, five columns each, with
/// the paging properties, as the API sends it.
pub fn domain_list(rows: usize) -> String {
    let mut text = String::from(
        "[RESPONSE]\r\ncode = 200\r\ndescription = Command completed successfully\r\n\
         runtime = 0.412\r\nqueuetime = 0\r\n",
    );
    let columns: [Column; 5] = [
        ("DOMAIN", |i| format!("bench-domain-{i:05}.com")),
        ("CREATEDDATE", |i| {
            format!(
                "20{:02}-{:02}-{:02} 10:11:12",
                10 + i % 15,
                1 + i % 12,
                1 + i % 28
            )
        }),
        ("PAIDUNTILDATE", |i| {
            format!(
                "20{:02}-{:02}-{:02} 10:11:12",
                26 + i % 4,
                1 + i % 12,
                1 + i % 28
            )
        }),
        ("RENEWALMODE", |i| {
            ["DEFAULT", "AUTORENEW", "AUTOEXPIRE"][i % 3].to_owned()
        }),
        ("STATUS", |i| {
            ["ACTIVE", "ACTIVE", "PENDING-TRANSFER"][i % 3].to_owned()
        }),
    ];
    for (column, value) in columns {
        for i in 0..rows {
            text.push_str(&format!("property[{column}][{i}] = {}\r\n", value(i)));
        }
    }
    for (name, value) in [
        ("COUNT", rows),
        ("FIRST", 0),
        ("LAST", rows - 1),
        ("LIMIT", rows),
        ("TOTAL", 2 * rows + 17),
    ] {
        text.push_str(&format!("property[{name}][0] = {value}\r\n"));
    }
    text.push_str("EOF\r\n");
    text
}
