-- The write path: every request posts a new comment, as the logged-in benchmark user,
-- exactly as the episode page's form does (form-encoded body and a CSRF token that is
-- valid for that session).
--   wrk ... -s bench/post_comment.lua http://127.0.0.1:PORT/episodes/bench-500/comments -- TOKEN COOKIE UA
local counter = 0
local token, cookie, agent

function init(args)
  token, cookie, agent = args[1], args[2], args[3]
end

function request()
  counter = counter + 1
  -- "Benchmark comment N, with math: $e^{i\pi} + 1 = 0$" : rendered (Markdown + MathML) on every request
  local body = "body=Benchmark+comment+" .. counter .. "%2C+with+math%3A+%24e%5E%7Bi%5Cpi%7D+%2B+1+%3D+0%24"
    .. "&csrf_token=" .. token
  local headers = {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Cookie"] = "session=" .. cookie,
    ["User-Agent"] = agent,
  }
  return wrk.format("POST", nil, headers, body)
end
