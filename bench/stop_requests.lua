-- wrk sends the signed STOP webhooks that bench/load_stop_webhooks.py wrote out.
--
--   wrk -t THREADS -c CONNECTIONS -d SECONDS -s bench/stop_requests.lua URL -- FILE THREADS
--
-- FILE holds one request a line: its X-Twilio-Signature, a tab, its form-encoded body. Each
-- thread sends every THREADS-th line in turn, from its first again should it reach its last
-- (then they are retries, as Twilio sends). At the end, one line that the script reads:
--   wrk: REQUESTS requests in SECONDS s; p50 MICROSECONDS us, p99 MICROSECONDS us; OTHER non-200

local threads, created = {}, 0

function setup(thread)
  thread:set("id", created)
  created = created + 1
  table.insert(threads, thread)
end

function init(args)
  local file, count = args[1], tonumber(args[2])
  requests, sent, other = {}, 0, 0
  local line_number = 0
  for line in io.lines(file) do
    if line_number % count == id then
      local signature, body = line:match("^([^\t]*)\t(.*)$")
      table.insert(requests, wrk.format("POST", wrk.path, {
        ["Content-Type"] = "application/x-www-form-urlencoded",
        ["X-Twilio-Signature"] = signature,
        ["Connection"] = "close",
      }, body))
    end
    line_number = line_number + 1
  end
end

function request()
  sent = sent % #requests + 1
  return requests[sent]
end

function response(status, headers, body)
  if status ~= 200 then
    other = other + 1
  end
end

function done(summary, latency, requests)
  local others = 0
  for _, thread in ipairs(threads) do
    others = others + thread:get("other")
  end
  io.write(string.format("wrk: %d requests in %.3f s; p50 %d us, p99 %d us; %d non-200\n",
    summary.requests, summary.duration / 1e6, latency:percentile(50), latency:percentile(99),
    others))
end
