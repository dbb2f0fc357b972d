//! A table of benchmark figures, printed as it is built and kept as
//! Markdown for `target/bench/report.md`.

/// See the module doc.
#[derive(Default)]
pub struct Table {
    /// The tables so far, as Markdown.
    pub markdown: String,
}

impl Table {
    /// Starts a table: its title and column names.
    pub fn heading<const N: usize>(&mut self, title: &str, columns: [&str; N]) {
        println!("\n{title}");
        println!("{}", columns.join("  "));
        self.markdown.push_str(&format!(
            "\n{title}\n\n| {} |\n|{}\n",
            columns.join(" | "),
            " --- |".repeat(N)
        ));
    }

    /// One row of the current table.
    pub fn row<const N: usize>(&mut self, cells: [String; N]) {
        println!("{}", cells.join("  "));
        self.markdown
            .push_str(&format!("| {} |\n", cells.join(" | ")));
    }
}
