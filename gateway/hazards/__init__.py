"""Hidden dangers (隐患) as a closed loop: found → assessed → assigned → controlled → fed back."""
