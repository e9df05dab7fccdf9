-- POST a new task to the URL given to wrk; the body is BENCH_BODY (PocketBase's names its
-- project relation by a string id), else Feedbase's.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = os.getenv("BENCH_BODY") or '{"project_id":1,"title":"bench task","priority":3}'
