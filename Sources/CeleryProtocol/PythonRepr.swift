public import CeleryJSON

/// Python's `repr()` of decoded JSON values, as Celery shows them in `argsrepr`, `kwargsrepr`,
/// log lines (`succeeded in 0.01s: 'done'`) and events.
public enum PythonRepr {
    /// `repr(value)` for the Python value JSON `value` decodes to.
    public static func repr(_ value: JSONValue) -> String {
        var output = ""
        write(value, into: &output)
        return output
    }

    /// `repr(value)` cut to about `limit` characters with `...` after, as Celery's `saferepr`
    /// keeps log lines and events short (`resultrepr_maxsize`, 1024). Long strings are cut
    /// before their repr is built, so a 100 MB result costs no more than a short one.
    public static func repr(_ value: JSONValue, limit: Int) -> String {
        var shortened = value
        if case .string(let text) = value, text.utf8.count > limit {
            shortened = .string(String(text.prefix(limit)))
        }
        let full = repr(shortened)
        return full.count > limit ? String(full.prefix(limit)) + "..." : full
    }

    /// `repr(tuple(args))`: `()`, `(1,)`, `(1, 2)`, as Celery's `argsrepr`.
    public static func tupleRepr(_ args: [JSONValue]) -> String {
        if args.count == 1 { return "(" + repr(args[0]) + ",)" }
        return "(" + args.map(repr).joined(separator: ", ") + ")"
    }

    /// `repr(kwargs)`: `{}`, `{'x': 1}`.
    public static func dictRepr(_ kwargs: JSONObject) -> String {
        repr(.object(kwargs))
    }

    /// `repr(text)`: single quotes unless the text has `'` and no `"`, with Python's escapes.
    public static func stringRepr(_ text: String) -> String {
        let quote: Character = text.contains("'") && !text.contains("\"") ? "\"" : "'"
        var output = String(quote)
        output.reserveCapacity(text.utf8.count + 2)
        let quoteValue = quote.unicodeScalars.first!.value
        for scalar in text.unicodeScalars {
            // Printable ASCII other than the quote and the backslash: the common case, as is.
            if scalar.value >= 0x20, scalar.value < 0x7F, scalar.value != quoteValue, scalar != "\\" {
                output.unicodeScalars.append(scalar)
                continue
            }
            switch scalar {
            case "\\": output += "\\\\"
            case "\n": output += "\\n"
            case "\r": output += "\\r"
            case "\t": output += "\\t"
            case _ where Character(scalar) == quote: output += "\\" + String(quote)
            case _ where scalar.value < 0x20 || (0x7F...0xA0).contains(scalar.value):
                output += "\\x" + hex(scalar.value, width: 2)
            case _ where (0xD800...0xDFFF).contains(scalar.value) || scalar.properties.generalCategory == .unassigned:
                output += scalar.value > 0xFFFF ? "\\U" + hex(scalar.value, width: 8) : "\\u" + hex(scalar.value, width: 4)
            default: output.unicodeScalars.append(scalar)
            }
        }
        output.append(quote)
        return output
    }

    private static func write(_ value: JSONValue, into output: inout String) {
        switch value {
        case .null: output += "None"
        case .bool(let flag): output += flag ? "True" : "False"
        case .integer(let number): output += String(number)
        case .bigInteger(let text): output += text
        case .double(let number):
            if number.isNaN { output += "nan" } else if number.isInfinite { output += number < 0 ? "-inf" : "inf" } else {
                output += PythonFloat.repr(number)
            }
        case .string(let text): output += stringRepr(text)
        case .array(let elements):
            output += "["
            for (index, element) in elements.enumerated() {
                if index > 0 { output += ", " }
                write(element, into: &output)
            }
            output += "]"
        case .object(let object):
            output += "{"
            for (index, member) in object.members.enumerated() {
                if index > 0 { output += ", " }
                output += stringRepr(member.key) + ": "
                write(member.value, into: &output)
            }
            output += "}"
        }
    }

    private static func hex(_ value: UInt32, width: Int) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
}
