-- POST a new task to the URL given to wrk.
local failures = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = os.getenv("BENCH_BODY") or '{"project_id":1,"title":"bench","priority":3}'
response = function(status) if status >= 300 then failures = failures + 1 end end
done = function() io.write(string.format("NON2XX %d\n", failures)) end
