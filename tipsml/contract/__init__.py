"""The profile-feature contract with the recommender: reading its TypeScript registry and comparing it with ours."""
