@testable import Celery
import Foundation
import Testing

@Suite("Random task ids")
struct RandomUUIDTests {
    @Test("ids are version-4 UUIDs as Python prints them, and do not repeat")
    func versionFourLowercase() throws {
        var seen = Set<String>()
        for _ in 0..<10_000 {
            let id = RandomUUID.string()
            let parsed = try #require(UUID(uuidString: id))
            #expect(parsed.uuidString.lowercased() == id)
            let bytes = withUnsafeBytes(of: parsed.uuid) { Array($0) }
            #expect(bytes[6] >> 4 == 4)
            #expect(bytes[8] >> 6 == 0b10)
            seen.insert(id)
        }
        #expect(seen.count == 10_000)
    }
}
