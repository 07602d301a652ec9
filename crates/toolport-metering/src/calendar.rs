//! Calendar months in UTC for monthly quotas, from Unix seconds, without a date library: Howard
//! Hinnant's `days_from_civil` / `civil_from_days` (proleptic Gregorian calendar).

use toolport_store::Timestamp;

const SECONDS_PER_DAY: i64 = 86_400;

/// (year, month 1–12, day 1–31) of a day counted from 1970-01-01.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Days from 1970-01-01 to the given date.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year.rem_euclid(400);
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The UTC month containing `at`: its first second, and the first second of the next month.
pub fn month_bounds(at: Timestamp) -> (Timestamp, Timestamp) {
    let (year, month, _) = civil_from_days(at.div_euclid(SECONDS_PER_DAY));
    let (next_year, next_month) = if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    };
    (
        days_from_civil(year, month, 1).saturating_mul(SECONDS_PER_DAY),
        days_from_civil(next_year, next_month, 1).saturating_mul(SECONDS_PER_DAY),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_start_and_end_in_utc() {
        // 2026-03-01T00:00:00Z and 2026-04-01T00:00:00Z.
        let (march, april) = (1_772_323_200, 1_775_001_600);
        assert_eq!(month_bounds(march), (march, april));
        assert_eq!(month_bounds(march + 86_400 * 15 + 3_600), (march, april));
        assert_eq!(month_bounds(april - 1), (march, april));
        assert_eq!(month_bounds(april).0, april);
        // A leap February.
        assert_eq!(
            month_bounds(1_709_208_000), // 2024-02-29T12:00:00Z
            (1_706_745_600, 1_709_251_200)
        );
        // December rolls into January.
        assert_eq!(
            month_bounds(1_764_547_200 + 30 * 86_400),
            (1_764_547_200, 1_767_225_600)
        );
        // Before the epoch.
        assert_eq!(month_bounds(-1), (-2_678_400, 0));
        assert_eq!(month_bounds(0), (0, 31 * 86_400));
    }

    #[test]
    fn days_round_trip() {
        for days in (-800_000..800_000).step_by(997) {
            let (y, m, d) = civil_from_days(days);
            assert!((1..=12).contains(&m) && (1..=31).contains(&d));
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }
}
