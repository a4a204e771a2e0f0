-- POST a create with an email no other request uses: each thread gets its
-- own id in setup, and counts its non-2xx statuses.
local counter = 0
local threads = {}
function setup(thread)
  counter = counter + 1
  thread:set("tid", counter)
  table.insert(threads, thread)
end
function init(args)
  n = 0
  statuses = {}
end
request = function()
  n = n + 1
  local body = string.format('{"email":"t%d-%d-%d@example.com","role":"developer"}', tid, os.time(), n)
  return wrk.format("POST", nil, {["Content-Type"] = "application/json", ["Authorization"] = "Basic ZGVtbzpzM2NyZXQ="}, body)
end
response = function(status, headers, body)
  if status ~= 200 then
    statuses[status] = (statuses[status] or 0) + 1
  end
end
function done(summary, latency, requests)
  for _, t in ipairs(threads) do
    local s = t:get("statuses")
    for code, c in pairs(s) do
      io.write(string.format("thread %d: status %d x %d\n", t:get("tid"), code, c))
    end
  end
end
