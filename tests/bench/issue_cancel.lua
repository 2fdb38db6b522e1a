-- wrk script for make bench's slow-disk figure: each thread issues a ticket,
-- then cancels one it issued, and so on, so the hall keeps its size (200
-- waiting) while others issue at 50 connections. One machine-readable line
-- at the end, as post.lua prints.
local auth = os.getenv("BENCH_AUTH")
local pending = {}

local function headers()
  local h = { ["Content-Type"] = "application/json" }
  if auth then h["Authorization"] = "Bearer " .. auth end
  return h
end

request = function()
  local id = table.remove(pending)
  if id then
    return wrk.format("POST", "/api/v1/tickets/" .. id .. "/cancel", headers(), "{}")
  end
  return wrk.format("POST", "/api/v1/tickets", headers(), '{"service":"A"}')
end

response = function(status, hdrs, body)
  if status == 201 then
    local id = body:match('"id":(%d+)')
    if id then table.insert(pending, id) end
  end
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH requests=%d duration_us=%d p50_us=%d p99_us=%d max_us=%d " ..
    "connect=%d read=%d write=%d status=%d timeout=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    latency.max, e.connect, e.read, e.write, e.status, e.timeout))
end
