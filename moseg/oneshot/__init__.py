"""Cheap evaluation of candidate networks: weights inherited from the trained supernet (`candidates`) and zero-cost
proxies (`proxies`)."""
