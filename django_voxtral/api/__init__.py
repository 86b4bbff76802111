"""The REST API of django_voxtral: the resource API and the DeepInfra- and OpenAI-style endpoints.

Views here only check input, create rows and answer; never run the pipeline or a service in a view.
"""
