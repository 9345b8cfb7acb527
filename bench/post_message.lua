-- wrk script for bench/classic.py: POST /message with a small classic JSON body.
wrk.method = "POST"
wrk.body = '{"user":"bench","text":"hello world"}'
wrk.headers["Content-Type"] = "application/json"
