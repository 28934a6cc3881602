"""Write-back: what this project writes to an LMS (SIS imports, enrollment sync), beside the read-side
`sources/` and built on their shared HTTP layer. `sources` never imports this package."""
