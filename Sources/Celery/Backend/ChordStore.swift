import Synchronization
internal import CeleryRedis

/// Chords in Celery's Redis backend: the header's results counted in the `.j`/`.t`/`.s`/`.d`
/// keys by Celery 5.7's own scripts, the dispatch claimed by one worker.
extension RedisResultBackend {
    /// Records a header task's outcome in the chord's `.j`/`.d` keys and claims the dispatch
    /// when it was the last one, with Celery 5.7's own Lua script.
    func chordPartReturn(groupID: String, taskID: String, groupIndex: Int?, state: TaskState, result: JSONValue) async throws
        -> ChordPartOutcome
    {
        let prefix = QueueKeys.groupResultKey(groupID: groupID)
        let token = RandomUUID.hexToken(bytes: 16)
        let encoded = ResultPayload.encode(
            JSONValue.array([1, .string(taskID), .string(state.rawValue), result]).pythonJSONBytes(), compression: compression)
        let expires = ResultExpiry.seconds(expiry.chords)
        let reply = try await ChordScripts.partReturn.run(
            on: connection, keys: [prefix + ".j", prefix + ".t", prefix + ".s", prefix + ".d", prefix, prefix + ".c"],
            arguments: [taskID, encoded, "1", groupIndex.map(String.init) ?? "+inf", expires, expiry.chordResultSeconds, 6, token])
        guard let values = reply.array, values.count == 4 else {
            throw RedisError(code: .unexpectedReply, message: "chord part return script returned \(reply)")
        }
        if values[0].integer == -1 { return .alreadyDone }
        guard values[3].integer == 1 else { return .waiting }
        let stored = try await connection.send(RedisCommand("ZRANGE", prefix + ".j", 0, -1)).unwrapped(command: "ZRANGE .j")
        var results: [(taskID: String, state: TaskState, result: JSONValue)] = []
        for item in stored.array ?? [] {
            guard let bytes = item.bytes, case .array(let tuple)? = try? JSONValue(parsing: ResultPayload.decode(bytes)), tuple.count == 4,
                let tid = tuple[1].stringValue, let state = tuple[2].stringValue
            else { continue }
            results.append((tid, TaskState(rawValue: state), tuple[3]))
        }
        return .complete(results: results, token: token)
    }

    /// Extends this worker's dispatch claim before publishing the body (Celery's claim-extend script).
    func extendChordClaim(groupID: String, token: String) async throws -> Bool {
        let prefix = QueueKeys.groupResultKey(groupID: groupID)
        let reply = try await ChordScripts.claimExtend.run(on: connection, keys: [prefix + ".c", prefix + ".s"], arguments: [token, 21])
        return reply.integer == 1
    }

    /// Removes the chord's keys and marks it done for late duplicates (Celery's cleanup script).
    func cleanUpChord(groupID: String, token: String) async throws {
        let prefix = QueueKeys.groupResultKey(groupID: groupID)
        _ = try await ChordScripts.cleanup.run(
            on: connection, keys: [prefix + ".c", prefix + ".j", prefix + ".t", prefix + ".s", prefix + ".d"],
            arguments: [token, 300])
    }

    /// The Redis backend's `set_chord_size` when a chord is applied: forget any earlier run's
    /// dispatch claim (`.c`), then store the header size in `.s` with the result expiry.
    func setChordSize(groupID: String, size: Int) async throws {
        let prefix = QueueKeys.groupResultKey(groupID: groupID)
        let set = if let expires = expiry.chords, expires > .zero {
            RedisCommand("SET", prefix + ".s", String(size), "EX", Int(expires.components.seconds))
        } else {
            RedisCommand("SET", prefix + ".s", String(size))
        }
        let replies = try await connection.pipeline([RedisCommand("DEL", prefix + ".c"), set])
        for reply in replies { try reply.unwrapped(command: "set_chord_size") }
    }

    /// The Redis backend's `add_to_chord`: one more header task to wait for (`.t` counter).
    func addToChord(groupID: String) async throws {
        try await connection.send(RedisCommand("INCR", QueueKeys.groupResultKey(groupID: groupID) + ".t")).unwrapped(command: "INCR .t")
    }

    /// Drops the chord size so a late header copy does not fail the chord again.
    func dropChordSize(groupID: String) async throws {
        _ = try await connection.send(RedisCommand("DEL", QueueKeys.groupResultKey(groupID: groupID) + ".s"))
    }
}

/// Celery 5.7's chord scripts (celery/backends/redis.py), verbatim, so Swift and Python
/// header tasks count towards the same chord.
enum ChordScripts {
    static let partReturn = RedisScript(name: "chord part return", source: #"""
        local jkey, tkey, skey, dkey, gkey, ckey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
        local tid, value, ordered, score = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
        local expires, group_expires = tonumber(ARGV[5]), tonumber(ARGV[6])
        local claim_expires = tonumber(ARGV[7])
        local claim_token = ARGV[8]
        local done_marker = redis.call('GET', ckey)
        if done_marker == 'done' then
            return {-1, 0, 0, 0}
        end
        local member = tid .. ':' .. score
        if redis.call('SISMEMBER', dkey, member) == 0 then
            if ordered == '1' then
                redis.call('ZADD', jkey, score, value)
            else
                redis.call('RPUSH', jkey, value)
            end
            redis.call('SADD', dkey, member)
        end
        local readycount
        if ordered == '1' then
            readycount = redis.call('ZCOUNT', jkey, '-inf', '+inf')
        else
            readycount = redis.call('LLEN', jkey)
        end
        if expires > 0 then
            for _, key in ipairs({jkey, tkey, skey, dkey}) do
                redis.call('EXPIRE', key, expires)
            end
            if group_expires > 0 then
                redis.call('EXPIRE', gkey, group_expires)
            end
        end
        local totaldiff = redis.call('GET', tkey)
        local size = redis.call('GET', skey)
        local claimed = 0
        if size and readycount == tonumber(size) + tonumber(totaldiff or 0) then
            if redis.call('SET', ckey, claim_token, 'NX', 'EX', claim_expires) then
                claimed = 1
            end
        end
        return {readycount, totaldiff, size, claimed}
        """#)

    static let cleanup = RedisScript(name: "chord cleanup", source: #"""
        local ckey = KEYS[1]
        local jkey = KEYS[2]
        local tkey = KEYS[3]
        local skey = KEYS[4]
        local dkey = KEYS[5]
        local token = ARGV[1]
        local done_expires = tonumber(ARGV[2])
        if redis.call('GET', ckey) == token then
            redis.call('DEL', jkey, tkey, skey, dkey)
            if done_expires and done_expires > 0 then
                redis.call('SET', ckey, 'done', 'EX', done_expires)
            end
            return 1
        end
        return 0
        """#)

    static let claimExtend = RedisScript(name: "chord claim extend", source: #"""
        local ckey, skey = KEYS[1], KEYS[2]
        local token = ARGV[1]
        local expires = tonumber(ARGV[2])
        if redis.call('GET', ckey) == token then
            return redis.call('EXPIRE', ckey, expires)
        end
        if not redis.call('GET', ckey) and redis.call('EXISTS', skey) == 1 then
            return redis.call('SET', ckey, token, 'EX', expires, 'NX') and 1 or 0
        end
        return 0
        """#)
}
