-- GET the URL given to wrk, counting non-2xx answers.
local failures = 0
response = function(status) if status >= 300 then failures = failures + 1 end end
done = function() io.write(string.format("NON2XX %d\n", failures)) end
