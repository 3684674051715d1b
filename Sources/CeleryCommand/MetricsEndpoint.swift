#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import Logging
import Prometheus

/// Serves `GET /metrics` (Prometheus text format) on a loopback port from a thread of its own:
/// the smallest HTTP/1.0 responder that Prometheus and curl read; anything else gets 404.
final class MetricsEndpoint: Sendable {
    private let listener: Int32
    /// The port it listens on (the one asked for, or the one the system chose for 0).
    let port: Int

    /// Binds `127.0.0.1:port` and starts answering.
    ///
    /// - Throws: ``Failure`` naming the port when it cannot be bound.
    init(port: Int, registry: PrometheusCollectorRegistry, logger: Logger) throws {
        let socketFD = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socketFD >= 0 else { throw Failure(message: "socket(): \(String(cString: strerror(errno)))") }
        var yes: Int32 = 1
        setsockopt(socketFD, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socketFD, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(socketFD, 16) == 0 else {
            let reason = String(cString: strerror(errno))
            close(socketFD)
            throw Failure(message: "cannot listen on 127.0.0.1:\(port) for --metrics-port: \(reason)")
        }
        var actual = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &actual) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(socketFD, $0, &length) }
        }
        self.listener = socketFD
        self.port = Int(UInt16(bigEndian: actual.sin_port))
        // One dispatch thread blocks in accept(); importing Foundation for Thread would load
        // libFoundation and ICU (about 6 MB of resident pages) into every worker.
        DispatchQueue(label: "metrics-endpoint").async { [listener] in Self.serve(listener, registry: registry) }
        logger.info("Metrics on http://127.0.0.1:\(self.port)/metrics")
    }

    struct Failure: Error, CustomStringConvertible {
        var message: String
        var description: String { message }
    }

    private static func serve(_ listener: Int32, registry: PrometheusCollectorRegistry) {
        while true {
            let client = accept(listener, nil, nil)
            guard client >= 0 else {
                if errno == EINTR { continue }
                return
            }
            var timeout = timeval(tv_sec: 2, tv_usec: 0)
            setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            var request: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 1024)
            while request.count < 8192, !request.ends(with: [13, 10, 13, 10]) {
                let count = read(client, &chunk, chunk.count)
                guard count > 0 else { break }
                request += chunk[0..<count]
            }
            let line = String(decoding: request.prefix { $0 != 13 && $0 != 10 }, as: UTF8.self)
            let response: [UInt8]
            if line.hasPrefix("GET /metrics ") || line == "GET /metrics" {
                let body = registry.emitToBuffer()
                response = Array("HTTP/1.0 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: \(body.count)\r\nConnection: close\r\n\r\n".utf8) + body
            } else {
                response = Array("HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".utf8)
            }
            var sent = 0
            while sent < response.count {
                let count = response[sent...].withUnsafeBytes { write(client, $0.baseAddress, $0.count) }
                guard count > 0 else { break }
                sent += count
            }
            close(client)
        }
    }
}

extension Array where Element == UInt8 {
    fileprivate func ends(with suffix: [UInt8]) -> Bool {
        count >= suffix.count && Array(self[(count - suffix.count)...]) == suffix
    }
}
