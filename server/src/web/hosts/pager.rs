//! Where each of the host page's fact tables shows its rows: at most [`TABLE_PAGE`] from an
//! offset, with links to the rows before and after.

use super::TABLE_PAGE;
use crate::facts::read::{HostDetail, HostTotals, HostWindows, Window};

/// Where one fact table's shown rows sit among all of them, with links to the rows before and
/// after (empty when there are none).
pub struct TablePager {
    pub first: i64,
    pub last: i64,
    pub total: i64,
    pub rest: i64,
    pub prev: String,
    pub next: String,
}

impl TablePager {
    fn new(base: &str, param: &str, offset: i64, shown: usize, total: i64) -> TablePager {
        let last = offset + shown as i64;
        let link = |at: i64| {
            if at == 0 {
                format!("{base}#{param}")
            } else {
                format!("{base}?{param}={at}#{param}")
            }
        };
        TablePager {
            first: offset + 1,
            last,
            total,
            rest: (total - last).max(0),
            prev: if offset > 0 {
                link((offset - TABLE_PAGE).max(0))
            } else {
                String::new()
            },
            next: if last < total {
                link(last)
            } else {
                String::new()
            },
        }
    }

    /// Whether the table has rows outside this page (then the page says which rows it shows).
    pub fn partial(&self) -> bool {
        !self.prev.is_empty() || !self.next.is_empty()
    }
}

/// The pager of each fact table.
pub struct Pagers {
    pub certificates: TablePager,
    pub routes: TablePager,
    pub interfaces: TablePager,
    pub services: TablePager,
    pub components: TablePager,
}

impl Pagers {
    pub fn new(base: &str, w: &HostWindows, detail: &HostDetail, totals: &HostTotals) -> Pagers {
        let pager = |param: &str, w: Window, shown: usize, total: i64| {
            TablePager::new(base, param, w.offset, shown, total)
        };
        Pagers {
            certificates: pager(
                "certificates",
                w.certificates,
                detail.certificates.len(),
                totals.certificates,
            ),
            routes: pager("routes", w.routes, detail.routes.len(), totals.routes),
            interfaces: pager(
                "interfaces",
                w.interfaces,
                detail.interfaces.len(),
                totals.interfaces,
            ),
            services: pager(
                "services",
                w.services,
                detail.services.len(),
                totals.services,
            ),
            components: pager(
                "components",
                w.components,
                detail.components.len(),
                totals.components,
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_pagers_link_to_the_rows_before_and_after() {
        let p = TablePager::new("/hosts/a", "routes", 0, 200, 450);
        assert_eq!((p.first, p.last, p.rest), (1, 200, 250));
        assert_eq!(
            (p.prev.as_str(), p.next.as_str()),
            ("", "/hosts/a?routes=200#routes")
        );
        let p = TablePager::new("/hosts/a", "routes", 400, 50, 450);
        assert_eq!(
            (p.prev.as_str(), p.next.as_str()),
            ("/hosts/a?routes=200#routes", "")
        );
        assert!(!TablePager::new("/hosts/a", "routes", 0, 3, 3).partial());
    }
}
