-- GET the URL given to wrk (the ceiling, or a filtered sorted page), counting non-2xx answers.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")
