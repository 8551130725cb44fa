wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")
local reads = {"ls -la", "git status", "kubectl --context staging get pods", "cat README.md"}
local i = 0
request = function()
  i = i + 1
  local cmd
  if i % 2 == 0 then cmd = reads[(i % 4) + 1] else cmd = "kubectl --context staging rollout restart deploy/api-" .. i end
  return wrk.format(nil, nil, nil, '{"tool":"Bash","input":{"command":"' .. cmd .. '"},"cwd":"/tmp/project"}')
end
