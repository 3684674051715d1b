#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

/// Reading and writing the ISO-8601 times Celery puts in `eta`, `expires` and `date_done`,
/// exactly as Python's `datetime.isoformat()` writes them.
public enum CeleryTime {
    /// A time read from the wire: the instant, and whether it carried no offset (naive
    /// values mean the worker's timezone, UTC by default).
    public struct Parsed: Sendable, Hashable {
        public var date: Date
        public var isNaive: Bool
    }

    /// `date` as Python's `datetime.isoformat()` of an aware UTC datetime:
    /// `2026-11-25T13:45:14.689157+00:00`, microseconds left out when zero.
    ///
    /// With `alwaysMicroseconds`, the fraction is written even when zero, as
    /// `strftime('%Y-%m-%dT%H:%M:%S.%f')` does.
    public static func isoformat(_ date: Date, alwaysMicroseconds: Bool = false) -> String {
        let totalMicroseconds = Int64((date.timeIntervalSince1970 * 1_000_000).rounded())
        var seconds = totalMicroseconds / 1_000_000
        var micro = totalMicroseconds % 1_000_000
        if micro < 0 {
            micro += 1_000_000
            seconds -= 1
        }
        var days = seconds / 86_400
        var secondOfDay = seconds % 86_400
        if secondOfDay < 0 {
            secondOfDay += 86_400
            days -= 1
        }
        let (year, month, day) = civil(fromDays: days)
        var text = pad(year, 4) + "-" + pad(month, 2) + "-" + pad(day, 2) + "T"
        text += pad(secondOfDay / 3600, 2) + ":" + pad(secondOfDay / 60 % 60, 2) + ":" + pad(secondOfDay % 60, 2)
        if micro != 0 || alwaysMicroseconds { text += "." + pad(micro, 6) }
        return text + "+00:00"
    }

    /// Parses `YYYY-MM-DD[T ]HH:MM[:SS[.ffffff]][Z|±HH:MM[:SS]]` (and a bare date) as Python's
    /// `datetime.fromisoformat` does for the forms Celery writes; `nil` when it is not one.
    public static func parse(_ text: String) -> Parsed? {
        let bytes = Array(text.utf8)
        var index = 0
        func number(_ digits: Int) -> Int64? {
            guard index + digits <= bytes.count else { return nil }
            var value: Int64 = 0
            for byte in bytes[index..<index + digits] {
                guard byte >= 48, byte <= 57 else { return nil }
                value = value * 10 + Int64(byte - 48)
            }
            index += digits
            return value
        }
        func expect(_ character: Character) -> Bool {
            guard index < bytes.count, bytes[index] == character.asciiValue else { return false }
            index += 1
            return true
        }
        guard let year = number(4), expect("-"), let month = number(2), expect("-"), let day = number(2),
            (1...12).contains(month), (1...31).contains(day)
        else { return nil }
        var seconds = days(fromCivil: year, month, day) * 86_400
        var fraction = 0.0
        var isNaive = true
        if index < bytes.count {
            guard bytes[index] == UInt8(ascii: "T") || bytes[index] == UInt8(ascii: " ") else { return nil }
            index += 1
            guard let hour = number(2), hour < 24, expect(":"), let minute = number(2), minute < 60 else { return nil }
            seconds += hour * 3600 + minute * 60
            if expect(":") {
                guard let second = number(2), second < 61 else { return nil }
                seconds += second
                if expect(".") || expect(",") {
                    let start = index
                    while index < bytes.count, bytes[index] >= 48, bytes[index] <= 57 { index += 1 }
                    guard index > start else { return nil }
                    fraction = Double("0." + String(decoding: bytes[start..<index], as: UTF8.self)) ?? 0
                }
            }
            if index < bytes.count {
                isNaive = false
                if expect("Z") {
                } else {
                    guard index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-")
                    else { return nil }
                    let sign: Int64 = bytes[index] == UInt8(ascii: "-") ? -1 : 1
                    index += 1
                    guard let offsetHours = number(2) else { return nil }
                    _ = expect(":")
                    let offsetMinutes = number(2) ?? 0
                    var offset = offsetHours * 3600 + offsetMinutes * 60
                    if expect(":"), let offsetSeconds = number(2) { offset += offsetSeconds }
                    if expect("."), index < bytes.count {
                        while index < bytes.count, bytes[index] >= 48, bytes[index] <= 57 { index += 1 }
                    }
                    seconds -= sign * offset
                }
            }
        }
        guard index == bytes.count else { return nil }
        return Parsed(date: Date(timeIntervalSince1970: Double(seconds) + fraction), isNaive: isNaive)
    }

    private static func pad(_ value: Int64, _ width: Int) -> String {
        let digits = String(value)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }

    // Howard Hinnant's civil-from-days and days-from-civil algorithms (proleptic Gregorian).
    private static func civil(fromDays days: Int64) -> (Int64, Int64, Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    private static func days(fromCivil year: Int64, _ month: Int64, _ day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}
