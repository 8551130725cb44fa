wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")
local bodies = {
  '{"tool":"Bash","input":{"command":"ls -la"},"cwd":"/tmp/project"}',
  '{"tool":"Bash","input":{"command":"kubectl --context staging rollout restart deploy/api"},"cwd":"/tmp/project"}',
  '{"tool":"Bash","input":{"command":"git status"},"cwd":"/tmp/project"}',
  '{"tool":"Bash","input":{"command":"psql -h db.staging.internal -c \'DELETE FROM sessions WHERE id = 4\'"},"cwd":"/tmp/project"}',
}
local i = 0
request = function()
  i = i + 1
  return wrk.format(nil, nil, nil, bodies[(i % 4) + 1])
end
