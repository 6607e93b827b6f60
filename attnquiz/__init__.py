"""attnquiz: self-attention interview drills in the terminal."""
