-- wrk script: every request is one whole job. POST /pram/rice with Prefer: wait=10;
-- the gateway answers 200 with the finished job when it ends within the wait.
-- Only answers that hold a finished, successful job count ("finished" below).
-- Every request's inputs differ (mai grows by a step per request, per thread), so each
-- one is a job the worker runs: none is answered from the gateway's result cache.
-- With WRK_SAME_INPUTS=1 in the environment every request is the same job instead: all
-- but the first are answered from the cache (what a hit costs).
--   wrk -t2 -c8 -d10s -s benchmarks/wrk_jobs.lua http://127.0.0.1:7777
wrk.method = "POST"
wrk.path = "/pram/rice"
wrk.headers["Content-Type"] = "application/json"
-- With WRK_NO_WAIT=1 there is no Prefer header: each answer is the 202 of a job queued
-- (the submission alone), and a 202 counts as "finished".
local no_wait = os.getenv("WRK_NO_WAIT") == "1"
if not no_wait then
  wrk.headers["Prefer"] = "wait=10"
end

local threads = {}

function setup(thread)
  thread:set("id", #threads % 10)
  thread:set("started", os.time() % 100000)
  table.insert(threads, thread)
end

function init(args)
  finished = 0
  other = 0
  counter = 0
end

local same = os.getenv("WRK_SAME_INPUTS") == "1"

function request()
  counter = counter + 1
  if same then counter = 0; started = 0; id = 0 end
  -- 0.05 then the round's start time, the thread and the request: distinct in every round
  local mai = string.format("0.05%05d%d%06d", started, id, counter % 1000000)
  local body = '{"inputs": {"mai": ' .. mai .. ', "area": 10000, "dsed": 0.01, "pb": 1300, ' ..
    '"dw": 0.1, "osed": 0.509, "kd": 757}}'
  return wrk.format(nil, nil, nil, body)
end

function response(status, headers, body)
  if (no_wait and status == 202) or
      (status == 200 and string.find(body, '"status":"SUCCESS"', 1, true)) then
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
