"""roleqa: role-attributed question answering over your own documents."""
