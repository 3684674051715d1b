extension RedisBroker {
    /// KEYS[1] = unacked, KEYS[2] = unacked_index, KEYS[3...] = lists.
    /// `fetch limit now nonce [largest]`: pop up to limit entries from the lists in order,
    /// recording each as `[key, raw, tag]` (tag = the field its record is under: its delivery
    /// tag, or `<tag>~<nonce>.<position>` when another held message has that tag, see
    /// ``UnackedTags``); an entry longer than `largest` is pushed back where it was and the
    /// reply ends with its length instead (the caller takes it without the script).
    /// `restore tag record payload leftmost`: if `unacked[tag]` still equals record, remove the
    /// tag and push payload to KEYS[3] (kombu's restore_by_tag, with the WATCH made atomic).
    /// `unlock token`: delete the lock KEYS[3] if it still holds token (redis-py's lock release).
    static let transportScript = #"""
        -- The tail kombu and Celery write for every task message; read without decoding the JSON.
        local TAIL = '"delivery_info": {"exchange": "([^"\\]*)", "routing_key": "([^"\\]*)"}, ' ..
          '"priority": %d+, "body_encoding": "base64", "delivery_tag": "([^"\\]*)"}}$'

        -- Files a record under its delivery tag, or, when a message held now has that tag already
        -- (replayed or hostile copies), under a field of its own: no copy loses its record.
        local function file(tag, entry, now, position)
          if redis.call('HSETNX', KEYS[1], tag, entry) == 0 then
            local name = tag .. '~' .. ARGV[4] .. '.' .. position
            while redis.call('HSETNX', KEYS[1], name, entry) == 0 do name = name .. '+' end
            tag = name
          end
          redis.call('ZADD', KEYS[2], now, tag)
          return tag
        end

        local function record(key, raw, now, position)
          local tag = false
          local exchange, routing_key = '', key
          local sep = string.find(key, '\6\22', 1, true)
          if sep then routing_key = string.sub(key, 1, sep - 1) end
          local e, r, t = string.match(raw, TAIL, -1024)
          if t then
            return file(t, '[' .. raw .. ', "' .. e .. '", "' .. r .. '"]', now, position)
          end
          local ok, message = pcall(cjson.decode, raw)
          if ok and type(message) == 'table' and type(message.properties) == 'table' then
            local properties = message.properties
            if type(properties.delivery_tag) == 'string' then tag = properties.delivery_tag end
            local info = properties.delivery_info
            if type(info) == 'table' then
              if type(info.exchange) == 'string' then exchange = info.exchange end
              if type(info.routing_key) == 'string' then routing_key = info.routing_key end
            end
          end
          if tag then
            tag = file(tag, '[' .. raw .. ', ' .. cjson.encode(exchange) .. ', ' .. cjson.encode(routing_key) .. ']',
              now, position)
          end
          return tag
        end

        local mode = ARGV[1]
        if mode == 'fetch' then
          local limit = tonumber(ARGV[2])
          local largest = tonumber(ARGV[5])
          local out = {}
          local count = 0
          for i = 3, #KEYS do
            while count < limit do
              local raw = redis.call('RPOP', KEYS[i])
              if not raw then break end
              if largest and #raw > largest then
                redis.call('RPUSH', KEYS[i], raw)
                out[#out + 1] = #raw
                return out
              end
              out[#out + 1] = KEYS[i]
              out[#out + 1] = raw
              count = count + 1
              out[#out + 1] = record(KEYS[i], raw, ARGV[3], count)
            end
            if count >= limit then break end
          end
          return out
        elseif mode == 'restore' then
          if redis.call('HGET', KEYS[1], ARGV[2]) ~= ARGV[3] then return 0 end
          redis.call('ZREM', KEYS[2], ARGV[2])
          redis.call('HDEL', KEYS[1], ARGV[2])
          if ARGV[5] == '1' then
            redis.call('LPUSH', KEYS[3], ARGV[4])
          else
            redis.call('RPUSH', KEYS[3], ARGV[4])
          end
          return 1
        elseif mode == 'unlock' then
          local token = redis.call('GET', KEYS[3])
          if not token or token ~= ARGV[2] then return 0 end
          redis.call('DEL', KEYS[3])
          return 1
        end
        return redis.error_reply('unknown transport script mode ' .. tostring(mode))
        """#
}
