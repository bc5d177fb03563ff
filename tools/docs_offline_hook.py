def on_post_page(output, page, config):
    return output
