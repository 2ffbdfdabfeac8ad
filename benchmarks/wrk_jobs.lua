-- wrk script: every request is one whole job. POST /pram/rice with Prefer: wait=10;
-- the gateway answers 200 with the finished job when it ends within the wait.
-- Only answers that hold a finished, successful job count ("finished" below).
--   wrk -t2 -c8 -d10s -s benchmarks/wrk_jobs.lua http://127.0.0.1:7777
wrk.method = "POST"
wrk.path = "/pram/rice"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Prefer"] = "wait=10"
wrk.body = '{"inputs": {"mai": 0.056, "area": 10000, "dsed": 0.01, "pb": 1300, "dw": 0.1, "osed": 0.509, "kd": 757}}'

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  finished = 0
  other = 0
end

function response(status, headers, body)
  if status == 200 and string.find(body, '"status":"SUCCESS"', 1, true) then
    finished = finished + 1
  else
    other = other + 1
  end
end

function done(summary, latency, requests)
  local f, o = 0, 0
  for _, thread in ipairs(threads) do
    f = f + thread:get("finished")
    o = o + thread:get("other")
  end
  local seconds = summary.duration / 1e6
  io.write(string.format('{"finished": %d, "other": %d, "seconds": %.3f, "jobs_per_s": %.1f, ' ..
    '"p50_ms": %.2f, "p99_ms": %.2f}\n', f, o, seconds, f / seconds,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
