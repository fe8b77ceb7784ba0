def validate(order):  # expect: complexity
    errors = []
    if not order.get("id"):
        errors.append("id")
    if not order.get("customer"):
        errors.append("customer")
    if order.get("total", 0) < 0:
        errors.append("total")
    for line in order.get("lines", []):
        if line.get("qty", 0) <= 0:
            errors.append("qty")
        if line.get("price", 0) < 0:
            errors.append("price")
        if not line.get("sku"):
            errors.append("sku")
    if order.get("country") not in ("NO", "SE", "DK"):
        errors.append("country")
    if order.get("express") and order.get("country") != "NO":
        errors.append("express")
    if order.get("coupon") and len(order["coupon"]) != 8:
        errors.append("coupon")
    return errors
