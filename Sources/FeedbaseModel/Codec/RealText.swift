// A REAL as the text RowJSON.realText makes SQLite write for it (15 significant digits when SQLite
// reads those back to the same double, else 17), computed in Swift so that a body's numbers are
// answered in the words the SQL path used, without a database. SQLite 3.40 formats and reads
// decimal text with its own long-double arithmetic (printf's `%!.Ng`, sqlite3AtoF), which is not
// always the correctly rounded decimal (1.7976931348623157e308 prints as ...56e+308): both are
// redone here step by step, in the platform's `long double` as SQLite is compiled with it.

#if (arch(x86_64) || arch(i386)) && !os(Windows)
/// C's `long double` on this platform: x87 extended precision.
package typealias LongDouble = Float80
#else
/// C's `long double` on Apple arm64 is `double` (on Linux arm64 it is a 128-bit float, which
/// Swift lacks: there the last digit may differ from SQLite's, as SQLite's own may between builds).
package typealias LongDouble = Double
#endif

package enum RealText {
    /// `RowJSON.realText(x)` for a finite `x`: `printf('%!.15g', x)` when SQLite reads that back
    /// as `x`, else `printf('%!.17g', x)`.
    package static func text(_ value: Double) -> String {
        let short = printf(value, significantDigits: 15)
        return String(decoding: atof(short[...]) == value ? short : printf(value, significantDigits: 17), as: UTF8.self)
    }

    private static let roundingSteps: [Double] = [5.0e-01, 5.0e-02, 5.0e-03, 5.0e-04, 5.0e-05, 5.0e-06, 5.0e-07, 5.0e-08, 5.0e-09, 5.0e-10]

    /// SQLite 3.40's `printf('%!.<digits>g', value)` for a finite value: at most 26 digits taken
    /// from a long-double walk (not the exact decimal), trailing zeros removed but one kept after
    /// the point (`1.0`, `1.0e+20`), an exponent of at least two digits.
    package static func printf(_ value: Double, significantDigits: Int) -> [UInt8] {
        var real = LongDouble(value)
        var out: [UInt8] = []
        out.reserveCapacity(32)
        if real < 0 {
            real = -real
            out.append(UInt8(ascii: "-"))
        }
        // %g counts the digit before the point apart.
        var precision = max(significantDigits - 1, 0)
        var index = precision & 0xfff
        var rounder = roundingSteps[index % 10]
        while index >= 10 {
            rounder *= 1.0e-10
            index -= 10
        }
        var exponent = 0
        if real > 0 {
            var scale: LongDouble = 1
            while real >= LongDouble(1e100 as Double) * scale && exponent <= 350 {
                scale *= LongDouble(1e100 as Double)
                exponent += 100
            }
            while real >= LongDouble(1e10 as Double) * scale && exponent <= 350 {
                scale *= LongDouble(1e10 as Double)
                exponent += 10
            }
            while real >= 10 * scale && exponent <= 350 {
                scale *= 10
                exponent += 1
            }
            real /= scale
            while real < LongDouble(1e-8 as Double) {
                real *= LongDouble(1e8 as Double)
                exponent -= 8
            }
            while real < 1 {
                real *= 10
                exponent -= 1
            }
        }
        real += LongDouble(rounder)
        if real >= 10 {
            real *= LongDouble(0.1 as Double)
            exponent += 1
        }
        let scientific = exponent < -4 || exponent > precision
        if !scientific { precision -= exponent }
        var digitsLeft = 26
        func digit() -> UInt8 {
            guard digitsLeft > 0 else { return UInt8(ascii: "0") }
            digitsLeft -= 1
            let whole = Int(real)
            real = (real - LongDouble(whole)) * 10
            return UInt8(ascii: "0") + UInt8(truncatingIfNeeded: whole)
        }
        var beforePoint = scientific ? 0 : exponent
        if beforePoint < 0 {
            out.append(UInt8(ascii: "0"))
        } else {
            while beforePoint >= 0 {
                out.append(digit())
                beforePoint -= 1
            }
        }
        out.append(UInt8(ascii: "."))
        beforePoint += 1
        while beforePoint < 0 {
            out.append(UInt8(ascii: "0"))
            precision -= 1
            beforePoint += 1
        }
        while precision > 0 {
            out.append(digit())
            precision -= 1
        }
        while out.last == UInt8(ascii: "0") { out.removeLast() }
        if out.last == UInt8(ascii: ".") { out.append(UInt8(ascii: "0")) }
        if scientific {
            out.append(UInt8(ascii: "e"))
            out.append(UInt8(ascii: exponent < 0 ? "-" : "+"))
            var magnitude = abs(exponent)
            if magnitude >= 100 {
                out.append(UInt8(ascii: "0") + UInt8(magnitude / 100))
                magnitude %= 100
            }
            out.append(UInt8(ascii: "0") + UInt8(magnitude / 10))
            out.append(UInt8(ascii: "0") + UInt8(magnitude % 10))
        }
        return out
    }

    /// SQLite 3.40's sqlite3AtoF (what `CAST(text AS REAL)` does) for the decimal text `printf`
    /// writes: at most 18 or so significant digits kept, the power of ten (sqlite3Pow10) applied
    /// in long double.
    package static func atof(_ text: ArraySlice<UInt8>) -> Double {
        let largest = Int64.max
        var bytes = text
        var negative = false
        var significand: Int64 = 0
        var shift = 0
        var exponent = 0
        var exponentNegative = false
        if bytes.first == UInt8(ascii: "-") {
            negative = true
            bytes = bytes.dropFirst()
        } else if bytes.first == UInt8(ascii: "+") {
            bytes = bytes.dropFirst()
        }
        func isDigit(_ byte: UInt8?) -> Bool { byte.map { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") } ?? false }
        while isDigit(bytes.first), let byte = bytes.popFirst() {
            significand = significand * 10 + Int64(byte - UInt8(ascii: "0"))
            if significand >= (largest - 9) / 10 {
                while isDigit(bytes.first) {
                    bytes = bytes.dropFirst()
                    shift += 1
                }
            }
        }
        if bytes.first == UInt8(ascii: ".") {
            bytes = bytes.dropFirst()
            while isDigit(bytes.first), let byte = bytes.popFirst() {
                if significand < (largest - 9) / 10 {
                    significand = significand * 10 + Int64(byte - UInt8(ascii: "0"))
                    shift -= 1
                }
            }
        }
        if bytes.first == UInt8(ascii: "e") || bytes.first == UInt8(ascii: "E") {
            bytes = bytes.dropFirst()
            if bytes.first == UInt8(ascii: "-") {
                exponentNegative = true
                bytes = bytes.dropFirst()
            } else if bytes.first == UInt8(ascii: "+") {
                bytes = bytes.dropFirst()
            }
            while isDigit(bytes.first), let byte = bytes.popFirst() {
                exponent = exponent < 10000 ? exponent * 10 + Int(byte - UInt8(ascii: "0")) : 10000
            }
        }
        guard significand != 0 else { return negative ? -0.0 : 0.0 }
        exponent = (exponentNegative ? -exponent : exponent) + shift
        let down = exponent < 0
        exponent = abs(exponent)
        // Move what fits of the power of ten into the significand first.
        while exponent > 0 {
            if !down {
                if significand >= largest / 10 { break }
                significand *= 10
            } else {
                if significand % 10 != 0 { break }
                significand /= 10
            }
            exponent -= 1
        }
        let signed = negative ? -significand : significand
        if exponent == 0 { return Double(signed) }
        if exponent > 307 {
            guard exponent < 342 else { return down ? 0.0 * Double(signed) : Double.infinity * Double(signed) }
            let scale = power10(exponent - 308)
            var result = down ? Double(LongDouble(signed) / scale) : Double(LongDouble(signed) * scale)
            if down { result /= 1.0e308 } else { result *= 1.0e308 }
            return result
        }
        let scale = power10(exponent)
        return down ? Double(LongDouble(signed) / scale) : Double(LongDouble(signed) * scale)
    }

    /// SQLite 3.40's sqlite3Pow10: ten to the `exponent` by squaring, in long double.
    package static func power10(_ exponent: Int) -> LongDouble {
        var base: LongDouble = 10
        var result: LongDouble = 1
        var exponent = exponent
        while true {
            if exponent & 1 != 0 { result *= base }
            exponent >>= 1
            if exponent == 0 { break }
            base *= base
        }
        return result
    }
}
